// The VS Code extension (editors/vscode/): its client bundled by esbuild (vscode itself external, as VS Code
// provides it) and packaged into a .vsix by @vscode/vsce, as a release would (nothing is published). The
// .vsix is a zip: its central directory names every file, so the test reads the names from the archive.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createVSIX } from "@vscode/vsce";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const source = "editors/vscode";

/** Names in a zip's central directory (signature 0x02014b50; name length at +28, name at +46). */
function zipNames(zip: Buffer): string[] {
  const names: string[] = [];
  for (let i = zip.indexOf("PK\x01\x02"); i >= 0; i = zip.indexOf("PK\x01\x02", i + 4)) {
    const length = zip.readUInt16LE(i + 28);
    names.push(zip.subarray(i + 46, i + 46 + length).toString("utf8"));
  }
  return names.sort();
}

describe("VS Code extension", () => {
  it("contributes the language, its configuration and the TextMate grammar", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(source, "package.json"), "utf8"));
    expect(manifest.contributes.languages[0]).toMatchObject({
      id: "nn",
      extensions: [".nn"],
      configuration: "./language-configuration.json",
    });
    expect(manifest.contributes.grammars[0]).toMatchObject({ language: "nn", scopeName: "source.nn" });
    const grammar = JSON.parse(fs.readFileSync(path.join(source, manifest.contributes.grammars[0].path), "utf8"));
    expect(grammar.scopeName).toBe("source.nn");
    const config = JSON.parse(fs.readFileSync(path.join(source, "language-configuration.json"), "utf8"));
    expect(config.comments.lineComment).toBe("#");
    expect(manifest.version).toBe(JSON.parse(fs.readFileSync("package.json", "utf8")).version);
  });

  it("bundles its client and packages into a .vsix with @vscode/vsce", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-vsix-"));
    try {
      for (const f of ["package.json", "language-configuration.json", "README.md", "LICENSE", ".vscodeignore"]) {
        fs.copyFileSync(path.join(source, f), path.join(dir, f));
      }
      fs.cpSync(path.join(source, "syntaxes"), path.join(dir, "syntaxes"), { recursive: true });
      const result = await build({
        entryPoints: [path.join(source, "src", "extension.ts")],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node18",
        external: ["vscode"],
        outfile: path.join(dir, "dist", "extension.js"),
        logLevel: "silent",
      });
      expect(result.errors).toEqual([]);
      const packagePath = path.join(dir, "nnc.vsix");
      await createVSIX({ cwd: dir, packagePath, dependencies: false });
      const names = zipNames(fs.readFileSync(packagePath));
      for (const f of [
        "extension/package.json",
        "extension/language-configuration.json",
        "extension/syntaxes/nn.tmLanguage.json",
        "extension/dist/extension.js",
        "extension.vsixmanifest",
      ]) {
        expect(names).toContain(f);
      }
      expect(names.filter((n) => n.startsWith("extension/src/") || n.includes("node_modules"))).toEqual([]);
      // The bundle starts `nnc lsp` and carries the language client, not a reference to an unbundled one.
      const bundle = fs.readFileSync(path.join(dir, "dist", "extension.js"), "utf8");
      expect(bundle).toContain('"lsp"');
      expect(bundle).not.toMatch(/require\("vscode-languageclient/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
