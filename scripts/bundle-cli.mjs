// Bundles the command line (run by `npm run build`, after tsc): dist/src/cli/main.js and everything it
// imports statically, Chevrotain included, into dist/cli/. Why: Chevrotain's package loads lodash-es as
// ~600 separate ES modules, ~400 ms of every `nnc check` on Node 20; bundled, the whole front end loads in
// ~25 ms. Code splitting keeps the dynamic `import("./build.js")` of main.ts a separate chunk, so the code
// generator loads only for `nnc build`; prettier, ts-morph and zod stay external (loaded from node_modules,
// and only by that chunk). bin/nnc.js runs dist/cli/main.js.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
/** Bundled: Chevrotain and its own packages. Every other dependency is loaded from node_modules. */
const bundled = (name) => name === "chevrotain" || name.startsWith("@chevrotain/") || name === "lodash-es";
const external = Object.keys(pkg.dependencies ?? {}).filter((name) => !bundled(name));

const outdir = path.join(root, "dist", "cli");
fs.rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: [path.join(root, "dist", "src", "cli", "main.js")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  legalComments: "eof",
});
