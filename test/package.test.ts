// nnc as its users get it: `npm pack` of a clean copy of the repository (tracked and new files, no dist/,
// so the pack must build), the tarball installed into a fresh project, then the public API imported from
// ESM, CommonJS and TypeScript (strict, skipLibCheck off, moduleResolution NodeNext and bundler, on the
// TypeScript this repository builds with and on TypeScript 5.0, the oldest the README promises), and the
// installed `nnc` command run. It fails when package.json loses `exports` or the build before packing.
//
// Needs the npm registry only for what the npm cache lacks (`npm ci` fills it with nnc's dependencies;
// typescript@5.0.4 is fetched once).
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "..");
let work = "";
let project = "";
let tarball = "";
let tarballFiles: string[] = [];

/** The environment of a user's shell: none of the npm_* variables `npm test` sets for its scripts. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith("npm_")) env[k] = v;
  return env;
}

/** The version of a dev dependency installed here (so the test project's install comes from the npm cache). */
function devVersion(name: string): string {
  return (
    JSON.parse(fs.readFileSync(path.join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string }
  ).version;
}

function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, [...args], { cwd, encoding: "utf8", env: userEnv(), timeout: 240_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-package-"));
  // A clean copy: the files git knows or would add, never dist/ or node_modules/ (both ignored).
  const copy = path.join(work, "nnc");
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: repo,
    encoding: "utf8",
  });
  for (const file of listed.split("\0").filter(Boolean)) {
    if (!fs.existsSync(path.join(repo, file))) continue; // deleted in the work tree, not yet committed
    fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    fs.copyFileSync(path.join(repo, file), path.join(copy, file));
  }
  expect(fs.existsSync(path.join(copy, "dist"))).toBe(false);
  // The build before packing needs the dev dependencies (TypeScript); they are the repository's own.
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(copy, "node_modules"), "dir");
  const packed = ok(run("npm", ["pack", "--json", "--pack-destination", work], copy), "npm pack");
  const info = JSON.parse(packed.slice(packed.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info[0]!.filename);
  tarballFiles = info[0]!.files.map((f) => f.path);

  project = path.join(work, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "uses-nnc", version: "1.0.0", private: true }),
  );
  ok(
    run(
      "npm",
      [
        "install",
        tarball,
        "ts50@npm:typescript@5.0.4",
        `vite@${devVersion("vite")}`,
        `esbuild@${devVersion("esbuild")}`,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      project,
    ),
    "npm install of the tarball",
  );
}, 300_000);

afterAll(() => {
  if (work && !process.env["NNC_KEEP_PACKAGE_TEST"]) fs.rmSync(work, { recursive: true, force: true });
}, 60_000); // a copy of the repository and an installed project: over 10 s to delete on a loaded machine

const spec = "node_modules/nnc/examples/mnist-mlp.nn";

describe("the packed tarball", () => {
  it("ships the built code, declarations, examples, LICENSE and README, and no tests, sources or source maps", () => {
    for (const f of [
      "LICENSE",
      "README.md",
      "package.json",
      "bin/nnc.js",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "examples/mnist-mlp.nn",
      "examples/gpt2.nn",
      "dist/runtime/weights.ts.txt",
      "dist/runtime/safetensors.ts.txt",
    ]) {
      expect(tarballFiles, f).toContain(f);
    }
    expect(tarballFiles.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(
      tarballFiles.filter(
        (f) => f.startsWith("test/") || f.startsWith("src/") || (f.endsWith(".ts") && !f.endsWith(".d.ts")),
      ),
    ).toEqual([]);
  });
});

describe("importing the installed package", () => {
  it("works from an ES module", () => {
    fs.writeFileSync(
      path.join(project, "esm.mjs"),
      `import { check, count, compile, format, verify, renderDiagnostics, countReportToJson, nodeHost, version } from "nnc";
const counted = count(${JSON.stringify(spec)});
const compiled = await compile("model M(x: f32[4]) {\\n  dense(2)\\n}\\n", { file: "m.nn" });
const broken = check("bad.nn", { text: "model M(x: f32[4]) {\\n  desne(2)\\n}\\n" });
console.log(JSON.stringify({
  total: String(counted.report.models[0].total),
  json: JSON.parse(countReportToJson(counted.report)).models[0].total,
  files: compiled.files.map((f) => f.path),
  forward: compiled.files[0].text.includes("export function createModel("),
  brokenOk: broken.ok,
  codes: broken.diagnostics.map((d) => d.code),
  rendered: renderDiagnostics(broken.diagnostics, broken.sources),
  formatted: format("model   M(x:f32[4]){dense(2)}\\n").text,
  host: typeof nodeHost.readFile,
  version,
  // An empty safetensors file (the reference implementation's test_empty bytes): every tensor missing.
  missing: verify(${JSON.stringify(spec)}, { against: Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]) }).report.missing.length,
}));
`,
    );
    const out = JSON.parse(ok(run(process.execPath, ["esm.mjs"], project), "esm.mjs"));
    // 784·128 + 128 + 128·64 + 64 + 64·10 + 10 = 109,386 (examples/mnist-mlp.nn, by arithmetic).
    expect(out.total).toBe("109386");
    expect(out.json).toBe(109386);
    expect(out.files).toEqual(["m.ts"]);
    expect(out.forward).toBe(true);
    expect(out.brokenOk).toBe(false);
    expect(out.codes.length).toBeGreaterThan(0);
    expect(out.rendered).toContain("bad.nn:2:3");
    expect(out.formatted).toBe("model M(x: f32[4]) {\n  dense(2)\n}\n");
    expect(out.host).toBe("function");
    expect(out.missing).toBe(6); // mnist-mlp.nn: three dense layers, a weight and a bias each
    expect(out.version).toBe(JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")).version);
  });

  it("works from CommonJS, with require() and with import()", () => {
    fs.writeFileSync(
      path.join(project, "cjs.cjs"),
      `const nnc = require("nnc");
import("nnc").then((esm) => {
  console.log(JSON.stringify({
    required: String(nnc.count(${JSON.stringify(spec)}).report.models[0].total),
    imported: String(esm.count(${JSON.stringify(spec)}).report.models[0].total),
    same: esm.count === nnc.count,
  }));
});
`,
    );
    const out = JSON.parse(ok(run(process.execPath, ["cjs.cjs"], project), "cjs.cjs"));
    expect(out).toEqual({ required: "109386", imported: "109386", same: true });
  });

  it("exposes only its public entry points: internals under dist/ cannot be imported", () => {
    fs.writeFileSync(
      path.join(project, "deep.mjs"),
      `try { await import("nnc/dist/src/emit/compile.js"); console.log("imported"); } catch (e) { console.log(e.code); }
const pkg = await import("nnc/package.json", { with: { type: "json" } });
console.log(pkg.default.name);
`,
    );
    expect(
      ok(run(process.execPath, ["deep.mjs"], project), "deep.mjs")
        .trim()
        .split("\n"),
    ).toEqual(["ERR_PACKAGE_PATH_NOT_EXPORTED", "nnc"]);
  });

  const consumer = `import { check, compile, count, renderDiagnostics, type CompileOptions, type CountReport, type Diagnostic, type Host } from "nnc";

const host: Host = { readFile: () => ({ ok: true, text: "model M(x: f32[4]) {\\n  dense(2)\\n}\\n" }) };
const options: CompileOptions = { dtype: "float64", unrollLimit: 64, format: false, host, file: "m.nn" };
export async function audit(file: string): Promise<bigint> {
  const result = count(file, { depth: 1 });
  const report: CountReport | undefined = result.report;
  const problems: readonly Diagnostic[] = check(file).diagnostics;
  if (problems.length > 0) throw new Error(renderDiagnostics(problems, result.sources));
  const compiled = await compile("model M(x: f32[4]) {\\n  dense(2)\\n}\\n", options);
  const first: string = compiled.files[0]?.text ?? "";
  return (report?.models[0]?.total ?? 0n) + BigInt(first.length);
}
`;

  const typescripts = {
    "TypeScript (this repository's)": path.join(repo, "node_modules/typescript/bin/tsc"),
    "TypeScript 5.0": "node_modules/ts50/bin/tsc",
  };
  const resolutions = [
    { moduleResolution: "NodeNext", module: "NodeNext" },
    { moduleResolution: "Bundler", module: "ESNext" },
  ];
  for (const [name, tsc] of Object.entries(typescripts)) {
    for (const r of resolutions) {
      it(`type-checks with ${name}, strict, skipLibCheck off, moduleResolution ${r.moduleResolution}`, () => {
        const dir = path.join(project, `ts-${name.replace(/\W+/g, "-")}-${r.moduleResolution}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
        fs.writeFileSync(path.join(dir, "index.ts"), consumer);
        fs.writeFileSync(
          path.join(dir, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              noEmit: true,
              skipLibCheck: false,
              target: "ES2022",
              lib: ["ES2022"],
              types: [],
              ...r,
            },
            files: ["index.ts"],
          }),
        );
        ok(
          run(process.execPath, [path.resolve(project, tsc), "-p", dir], project),
          `tsc (${name}, ${r.moduleResolution})`,
        );
      });
    }
  }

  it("type-checking sees the real declarations (a wrong type in the consumer is an error)", () => {
    const dir = path.join(project, "ts-wrong");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    fs.writeFileSync(
      path.join(dir, "index.ts"),
      `import { count } from "nnc";\nexport const total: string | undefined = count("x.nn").report?.models[0]?.total;\n`,
    );
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", types: [] },
        files: ["index.ts"],
      }),
    );
    const r = run(process.execPath, [typescripts["TypeScript (this repository's)"], "-p", dir], project);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("Type 'bigint' is not assignable to type 'string'");
  });
});

describe("the bundler plugin from the installed package", () => {
  it("bundles a spec with esbuild through `nnc/plugin`, and the bundle computes", () => {
    fs.copyFileSync(path.join(project, "node_modules/nnc/examples/xor.nn"), path.join(project, "xor.nn"));
    fs.writeFileSync(
      path.join(project, "entry.mjs"),
      `import * as xor from "./xor.nn";\nconsole.log(JSON.stringify(Array.from(xor.forward(xor.createParams(1), new Float32Array([0, 1]), 1))));\n`,
    );
    fs.writeFileSync(
      path.join(project, "bundle.mjs"),
      `import * as esbuild from "esbuild";
import nnc, { esbuild as viaNamedExport } from "nnc/plugin";
if (typeof viaNamedExport !== "function") throw new Error("no named esbuild export");
await esbuild.build({ entryPoints: ["entry.mjs"], bundle: true, format: "esm", platform: "node", outfile: "out/bundle.mjs", plugins: [nnc.esbuild()], logLevel: "error" });
`,
    );
    ok(run(process.execPath, ["bundle.mjs"], project), "esbuild with nnc/plugin");
    const out = JSON.parse(ok(run(process.execPath, ["out/bundle.mjs"], project), "the bundle")) as number[];
    expect(out).toHaveLength(1);
    expect(out[0]).toBeGreaterThan(0); // a sigmoid output
    expect(out[0]).toBeLessThan(1);
    expect(fs.existsSync(path.join(project, "xor.nn.d.ts"))).toBe(true);
  });

  // With skipLibCheck off, unplugin's and Vite's own declarations need @types/node and every bundler's
  // types (their problem, not ours; Vite's templates set skipLibCheck): every error must be in them.
  it("a Vite config using `nnc/plugin` type-checks: no error in nnc's declarations or the config (strict, skipLibCheck off)", () => {
    const dir = path.join(project, "ts-vite");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    fs.writeFileSync(
      path.join(dir, "vite.config.ts"),
      `import { defineConfig } from "vite";\nimport nnc, { type PluginOptions } from "nnc/plugin";\nconst options: PluginOptions = { dtype: "float64", declarations: ".d.nn.ts" };\nexport default defineConfig({ plugins: [nnc.vite(options)] });\n`,
    );
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2022", "DOM"],
          types: [],
        },
        files: ["vite.config.ts"],
      }),
    );
    const r = run(process.execPath, [path.join(repo, "node_modules/typescript/bin/tsc"), "-p", dir], project);
    const errors = r.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
    expect(
      errors.filter(
        (l) => !/^(\.\.\/)?node_modules\/(vite|rolldown|unplugin|esbuild|webpack-virtual-modules)\//.test(l),
      ),
    ).toEqual([]);
    // …and the check is real: a wrong option is reported in the config.
    fs.writeFileSync(
      path.join(dir, "vite.config.ts"),
      `import nnc from "nnc/plugin";\nexport default [nnc.vite({ dtype: "float16" })];\n`,
    );
    const wrong = run(process.execPath, [path.join(repo, "node_modules/typescript/bin/tsc"), "-p", dir], project);
    expect(wrong.stdout).toMatch(/vite\.config\.ts\(2,\d+\): error TS2820: Type '"float16"' is not assignable/);
  });
});

describe("the installed command", () => {
  it("`npx nnc count` counts a bundled example", () => {
    const out = ok(run("npx", ["--no-install", "nnc", "count", spec, "--format", "json"], project), "npx nnc count");
    expect(JSON.parse(out).models[0].total).toBe(109386);
  });

  it("`npx nnc lsp` answers initialize and shuts down cleanly (vscode-languageserver resolved from the install)", async () => {
    const frame = (message: object) => {
      const body = JSON.stringify({ jsonrpc: "2.0", ...message });
      return `Content-Length: ${Buffer.byteLength(body, "utf8")}\r\n\r\n${body}`;
    };
    // Standard input stays open until the shutdown is answered: a server whose input ends exits at once.
    const child = spawn("npx", ["--no-install", "nnc", "lsp", "--stdio"], { cwd: project, env: userEnv() });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('"id":2')) child.stdin.end(frame({ method: "exit" }));
    });
    child.stdin.write(
      frame({ id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } }) +
        frame({ id: 2, method: "shutdown" }),
    );
    expect(await code, stderr).toBe(0);
    expect(stdout).toContain('"serverInfo":{"name":"nnc"}');
    expect(stdout).toContain('"hoverProvider":true');
  }, 60_000);

  it("`npx nnc build` writes the module", () => {
    ok(
      run("npx", ["--no-install", "nnc", "build", "node_modules/nnc/examples/xor.nn", "--out", "models"], project),
      "npx nnc build",
    );
    expect(fs.existsSync(path.join(project, "models/xor.ts"))).toBe(true);
  });
});
