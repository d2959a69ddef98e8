// The runtime files generated modules carry: real TypeScript sources of this package, type-checked and
// linted with the rest, read as text when a module is generated and copied in. Each is import-free but for
// the runtime files it calls (which a module also carries); the copy drops those imports and the `export`
// keywords, but for the types a module's own API names. The files ship with the package (`files` in
// package.json): they are found from this file's place, in src/ (tests), dist/src/ or the CLI bundle.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Every runtime file, by name, relative to the package's root. */
export const runtimeFiles = {
  safetensors: "src/weights/safetensors.ts",
  weights: "src/emit/runtime/weights.ts",
} as const;

export type RuntimeName = keyof typeof runtimeFiles;

/** Declarations a generated module exports (its API names them). */
const exported: Readonly<Record<RuntimeName, readonly string[]>> = {
  safetensors: [],
  weights: ["LoadOptions", "LoadReport"],
};

let root: string | undefined;

/** The package's root: the nearest folder above this file that holds the runtime files. */
function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, runtimeFiles.weights))) return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`internal: the runtime file ${runtimeFiles.weights} is not installed with nnc`);
    dir = up;
  }
}

const texts = new Map<RuntimeName, string>();

/** A runtime file as a generated module carries it: no import, no `export` but on its public types. */
export function runtimeText(name: RuntimeName): string {
  let text = texts.get(name);
  if (text === undefined) {
    const source = fs.readFileSync(path.join(packageRoot(), runtimeFiles[name]), "utf8");
    const keep = new Set(exported[name]);
    text = source
      .replace(/^import [^;]*;\n/gm, "")
      .replace(/^export ((?:interface|type|function|const|class) ([A-Za-z_$][\w$]*))/gm, (all, rest: string, id: string) =>
        keep.has(id) ? all : rest,
      );
    texts.set(name, text);
  }
  return text;
}
