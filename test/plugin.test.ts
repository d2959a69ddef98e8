// The bundler plugin (src/plugin/): real builds by Rollup, esbuild, Vite and webpack of an entry that imports
// specs, the bundles run in Node against the module compiled directly; diagnostics as each bundler's error
// with file:line:col; the declarations written beside the spec and type-checked with `tsc --strict`;
// Rollup's watch mode rebuilding on a change of an imported spec.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { rollup as rollupApi, watch as rollupWatch, type RollupWatcher, type RollupWatcherEvent } from "rollup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeHost } from "../src/program/node-host.js";
import { compile } from "../src/emit/compile.js";
import { toJavaScript } from "../src/emit/javascript.js";
import * as esbuildApi from "esbuild";
import * as viteApi from "vite";
import { esbuild as esbuildPlugin, rollup as rollupPlugin, vite as vitePlugin } from "../src/plugin/index.js";
import { displayName } from "../src/plugin/spec-module.js";
import { build, bundlers } from "./helpers/bundle.js";

const blocks = "block Hidden(n) {\n  dense(n) tanh\n}\n";
const net = 'import { Hidden } from "./lib/blocks.nn"\n\nmodel Net(x: f32[3]) {\n  Hidden(4)\n  dense(2)\n}\n';
const multi = "model Small(x: f32[2]) {\n  dense(3)\n}\n\nmodel Other(x: f32[4]) {\n  dense(1) sigmoid\n}\n";
/** `desne` on line 2, column 3, in the imported file. */
const brokenBlocks = "block Hidden(n) {\n  desne(n) tanh\n}\n";

/** Prints, as JSON, what every bundle is compared on: Net's forward on two samples from seeded parameters,
 *  and the two namespaces of multi.nn and the module `?model=Other` gives. */
const entry = `import * as net from "./net.nn";
import * as multi from "./multi.nn";
import * as other from "./multi.nn?model=Other";
const y = net.forward(net.createParams(3), new Float32Array([0.5, -1, 2, 0.25, 0, -0.75]), 2);
console.log(JSON.stringify({
  name: net.modelName,
  paramCount: net.paramCount,
  y: Array.from(y),
  multi: Object.keys(multi).sort(),
  small: multi.Small.paramCount,
  other: [multi.Other.paramCount, other.paramCount, other.modelName],
}));
`;

let dir: string;
const nodeRun = (file: string): unknown => JSON.parse(execFileSync(process.execPath, [file], { encoding: "utf8" }));

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-plugin-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh project directory with the specs and the entry. */
function project(name: string, files: Record<string, string> = {}): string {
  const root = path.join(dir, name);
  const all: Record<string, string> = {
    "lib/blocks.nn": blocks,
    "net.nn": net,
    "multi.nn": multi,
    "entry.js": entry,
    ...files,
  };
  for (const [file, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** What the entry prints, computed from Net compiled directly (compile() + toJavaScript, no bundler). */
async function expected(root: string): Promise<unknown> {
  const file = path.join(root, "net.nn");
  const result = await compile(fs.readFileSync(file, "utf8"), { format: false }, file, nodeHost);
  expect(result.diagnostics).toEqual([]);
  const ref = path.join(root, "reference.mjs");
  fs.writeFileSync(ref, toJavaScript(result.files[0]!.text).js);
  const check = path.join(root, "reference-run.mjs");
  fs.writeFileSync(
    check,
    `import * as net from "./reference.mjs";
const y = net.forward(net.createParams(3), new Float32Array([0.5, -1, 2, 0.25, 0, -0.75]), 2);
console.log(JSON.stringify({ name: net.modelName, paramCount: net.paramCount, y: Array.from(y), multi: ["Other", "Small"], small: 9, other: [5, 5, "Other"] }));
`,
  );
  return nodeRun(check);
}

/** Waits until `arm`'s callback is called, at most 20 s (a watcher that misses a change fails, not hangs). */
async function waitFor(arm: (resolve: () => void) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error("no rebuild within 20 s")), 20_000);
      arm(resolve);
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `body` while Rollup watches `root`/entry.js. `next` waits for the end of the next build (Rollup sends
 *  END after an ERROR too) and gives the ERROR if it failed; `paramCount` runs the bundle. */
async function withRollupWatch(
  root: string,
  body: (next: () => Promise<{ error: { message: string } | undefined }>, paramCount: () => number) => Promise<void>,
): Promise<void> {
  const out = path.join(root, "dist");
  const watcher: RollupWatcher = rollupWatch({
    input: path.join(root, "entry.js"),
    plugins: [rollupPlugin()],
    output: { dir: out, format: "es", entryFileNames: "bundle.mjs" },
    watch: { buildDelay: 50 },
    onwarn: () => {},
  });
  const events: RollupWatcherEvent[] = [];
  let wake: () => void = () => {};
  watcher.on("event", (event) => {
    if ("result" in event && event.result) void event.result.close();
    events.push(event);
    wake();
  });
  const next = async (): Promise<{ error: { message: string } | undefined }> => {
    let error: { message: string } | undefined;
    for (;;) {
      const event = events.shift();
      if (!event) await waitFor((resolve) => (wake = resolve));
      else if (event.code === "ERROR") error = event.error;
      else if (event.code === "END") return { error };
    }
  };
  try {
    await body(next, () => (nodeRun(path.join(out, "bundle.mjs")) as { paramCount: number }).paramCount);
  } finally {
    await watcher.close();
  }
}

describe.each(bundlers)("%s with the nnc plugin", (bundler) => {
  it("bundles specs (an import, several models, ?model=) and the bundle computes what the module does", async () => {
    const root = project(`ok-${bundler}`);
    const result = await build(bundler, path.join(root, "entry.js"), path.join(root, "dist"));
    if (!result.ok) throw new Error(result.text);
    const got = nodeRun(result.file) as { y: number[] };
    expect(got).toEqual(await expected(root));
    expect(got.y).toHaveLength(4);
    expect(got.y.every(Number.isFinite)).toBe(true);
    if (bundler === "rollup" || bundler === "webpack")
      expect(result.watchFiles).toContain(path.join(root, "lib", "blocks.nn"));
    expect(fs.existsSync(path.join(root, "net.nn.d.ts"))).toBe(true);
  });

  it("reports an error in an imported spec as its error, at file:line:col with the code and the code frame", async () => {
    const root = project(`broken-${bundler}`, { "lib/blocks.nn": brokenBlocks });
    const result = await build(bundler, path.join(root, "entry.js"), path.join(root, "dist"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const file = path.join(root, "lib", "blocks.nn");
    expect(result.text).toContain("error[NN2004]: unknown layer `desne`");
    expect(result.text).toContain(`--> ${file}:2:3`);
    expect(result.text).toContain("2 |   desne(n) tanh");
    expect(result.text).toContain("help: did you mean `dense`?");
    expect(result.text).not.toMatch(/\n\s+at .+:\d+:\d+\)?(\n|$)/); // no stack trace
    // The structured location, where the bundler keeps one (webpack keeps only the message): columns from 0.
    if (bundler !== "webpack")
      expect(result.loc).toMatchObject({ file: expect.stringMatching(/blocks\.nn$/), line: 2, column: 2 });
    expect(fs.existsSync(path.join(root, "net.nn.d.ts"))).toBe(false); // nothing written for a broken spec
  });
});

describe("the plugin's rules", () => {
  it("a spec without models, an unknown ?model= and bad options are errors that say what to do", async () => {
    const root = project("rules", {
      "entry-lib.js": 'import * as b from "./lib/blocks.nn";\nconsole.log(b);\n',
      "entry-model.js": 'import * as m from "./multi.nn?model=Smal";\nconsole.log(m);\n',
    });
    const lib = await build("rollup", path.join(root, "entry-lib.js"), path.join(root, "dist"));
    expect(lib.ok).toBe(false);
    if (!lib.ok)
      expect(lib.text).toContain(`error[NN0010]: ${path.join(root, "lib", "blocks.nn")} defines no model to compile`);
    const model = await build("esbuild", path.join(root, "entry-model.js"), path.join(root, "dist"));
    expect(model.ok).toBe(false);
    if (!model.ok)
      expect(model.text).toMatch(/error\[NN0010\]: .*multi\.nn has no model `Smal`\n\s+= help: did you mean `Small`\?/);
    expect(() => rollupPlugin({ declarations: ".ts" } as never)).toThrow(
      /^nnc plugin: invalid options: declarations: /,
    );
    expect(() => rollupPlugin({ model: "Small" } as never)).toThrow(/^nnc plugin: invalid options: .*model/);
  });

  it("names files relative to the working directory when inside it, else absolute", () => {
    expect(displayName(path.join("/w", "models", "x.nn"), "/w")).toBe(path.join("models", "x.nn"));
    expect(displayName(path.join("/w", "..models", "x.nn"), "/w")).toBe(path.join("..models", "x.nn"));
    expect(displayName(path.join("/elsewhere", "x.nn"), "/w")).toBe(path.join("/elsewhere", "x.nn"));
  });

  it("writes declarations only when they change, and tsc --strict checks code against them", async () => {
    const root = project("types", {
      "use.ts": `import * as net from "./net.nn";
import * as multi from "./multi.nn";
const y: Float32Array = net.forward(net.createParams(1), new Float32Array(net.inputSize), 1);
const trainer = multi.Other.createTrainer({ optimizer: "adam", lr: 0.01 });
const loss: number = multi.Other.trainStep(trainer, new Float32Array(4), [1], 1);
const small: 9 = multi.Small.paramCount;
export { y, loss, small };
`,
      "wrong.ts": `import * as net from "./net.nn";
import * as multi from "./multi.nn";
const a: string = net.paramCount;
multi.Small.forward(multi.Small.createParams(), new Float64Array(2), 1);
export { a };
`,
    });
    const first = await build("rollup", path.join(root, "entry.js"), path.join(root, "dist"));
    expect(first.ok).toBe(true);
    const dts = path.join(root, "net.nn.d.ts");
    const before = fs.statSync(dts);
    expect(fs.readFileSync(dts, "utf8")).toMatch(/^\/\/ Types of `net\.nn` as the nnc bundler plugin compiles it/);
    const tsc = path.resolve("node_modules/typescript/bin/tsc");
    const check = (...files: string[]) => {
      try {
        execFileSync(
          process.execPath,
          [
            tsc,
            "--strict",
            "--noEmit",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "--target",
            "es2022",
            "--lib",
            "es2022",
            ...files,
          ],
          { cwd: root, encoding: "utf8" },
        );
        return "";
      } catch (error) {
        return String((error as { stdout: string }).stdout);
      }
    };
    // use.ts and the declarations type-check; they are real types, not `any`: wrong code is rejected, and
    // nothing else is reported.
    const errors = check("use.ts", "wrong.ts")
      .split("\n")
      .filter((line) => /^\S+\(\d+,\d+\): error/.test(line));
    expect(errors).toEqual([
      "wrong.ts(3,7): error TS2322: Type 'number' is not assignable to type 'string'.",
      expect.stringMatching(
        /^wrong\.ts\(4,49\): error TS2345: Argument of type 'Float64Array.*' is not assignable to parameter of type 'Float32Array/,
      ),
    ]);

    // Rebuilt with nothing changed: the file is not rewritten (a rewrite is a rename: a new inode).
    expect((await build("rollup", path.join(root, "entry.js"), path.join(root, "dist"))).ok).toBe(true);
    const after = fs.statSync(dts);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // A change of the imported file changes the types.
    fs.writeFileSync(path.join(root, "lib", "blocks.nn"), blocks.replace("tanh", "relu\n  dense(5)"));
    expect((await build("rollup", path.join(root, "entry.js"), path.join(root, "dist"))).ok).toBe(true);
    expect(fs.readFileSync(dts, "utf8")).toContain("export declare const paramCount = 53;");
    expect(fs.readdirSync(root).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("leaves ?raw to Vite, and a declaration file it cannot write is a warning, not a failed build", async () => {
    const root = project("raw", {
      "entry-raw.js": 'import text from "./net.nn?raw";\nconsole.log(JSON.stringify({ text }));\n',
    });
    const raw = await build("vite", path.join(root, "entry-raw.js"), path.join(root, "dist"));
    if (!raw.ok) throw new Error(raw.text);
    expect(nodeRun(raw.file)).toEqual({ text: net });

    fs.mkdirSync(path.join(root, "net.nn.d.ts")); // a directory where the file should go
    const warnings: string[] = [];
    const bundle = await rollupApi({
      input: path.join(root, "entry.js"),
      plugins: [rollupPlugin()],
      onwarn: (w) => void warnings.push(w.message),
    });
    await bundle.close();
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`warning\\[NN0003\\]: cannot write ${path.join(root, "net.nn.d.ts")}: E`)),
    ]);
    expect(fs.readdirSync(root).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("writes x.d.nn.ts with declarations: '.d.nn.ts', which ES-module nodenext resolution finds with allowArbitraryExtensions", async () => {
    const root = project("arbitrary", {
      "package.json": '{ "type": "module" }\n',
      "use.ts": 'import * as net from "./net.nn";\nconst n: 26 = net.paramCount;\nexport { n };\n',
    });
    const result = await build("esbuild", path.join(root, "entry.js"), path.join(root, "dist"), {
      declarations: ".d.nn.ts",
    });
    expect(result.ok).toBe(true);
    expect(fs.existsSync(path.join(root, "net.d.nn.ts"))).toBe(true);
    expect(fs.existsSync(path.join(root, "net.nn.d.ts"))).toBe(false);
    const tsc = path.resolve("node_modules/typescript/bin/tsc");
    execFileSync(
      process.execPath,
      [tsc, "--strict", "--noEmit", "--module", "nodenext", "--lib", "es2022", "--allowArbitraryExtensions", "use.ts"],
      { cwd: root, encoding: "utf8" },
    );
  });

  it("Rollup's watch mode rebuilds when an imported spec changes, breaks and is fixed", async () => {
    const root = project("watch");
    const lib = path.join(root, "lib", "blocks.nn");
    await withRollupWatch(root, async (next, paramCount) => {
      expect((await next()).error).toBeUndefined();
      expect(paramCount()).toBe(26);
      fs.writeFileSync(lib, blocks.replace("dense(n)", "dense(n + 1)"));
      expect((await next()).error).toBeUndefined();
      expect(paramCount()).toBe(32);
      fs.writeFileSync(lib, brokenBlocks);
      expect((await next()).error?.message).toContain(`--> ${lib}:2:3`);
      fs.writeFileSync(lib, blocks);
      expect((await next()).error).toBeUndefined();
      expect(paramCount()).toBe(26);
    });
  });

  it("a missing import is watched too: creating it rebuilds", async () => {
    const root = project("watch-missing");
    const lib = path.join(root, "lib", "blocks.nn");
    fs.rmSync(lib);
    await withRollupWatch(root, async (next, paramCount) => {
      expect((await next()).error?.message).toContain("error[NN6001]: cannot import `./lib/blocks.nn`: no such file");
      // The watcher sets up its watch of a missing path asynchronously, with no signal when it is ready:
      // the file is written again until a build starts (a path not watched at all never starts one).
      const writer = setInterval(() => fs.writeFileSync(lib, blocks), 500);
      fs.writeFileSync(lib, blocks);
      try {
        expect((await next()).error).toBeUndefined();
      } finally {
        clearInterval(writer);
      }
      expect(paramCount()).toBe(26);
    });
  });

  it("esbuild's watch mode rebuilds when an imported spec changes", async () => {
    const root = project("watch-esbuild");
    const bundle = path.join(root, "dist", "bundle.mjs");
    const ends: esbuildApi.BuildResult[] = [];
    let wake: () => void = () => {};
    const context = await esbuildApi.context({
      entryPoints: [path.join(root, "entry.js")],
      bundle: true,
      format: "esm",
      outfile: bundle,
      logLevel: "silent",
      plugins: [
        esbuildPlugin(),
        { name: "ends", setup: (b) => void b.onEnd((result) => void (ends.push(result), wake())) },
      ],
    });
    const next = async (): Promise<esbuildApi.BuildResult> => {
      while (ends.length === 0) await waitFor((resolve) => (wake = resolve));
      return ends.shift()!;
    };
    try {
      await context.watch();
      expect((await next()).errors).toEqual([]);
      expect((nodeRun(bundle) as { paramCount: number }).paramCount).toBe(26);
      fs.writeFileSync(path.join(root, "lib", "blocks.nn"), blocks.replace("dense(n)", "dense(n + 1)"));
      expect((await next()).errors).toEqual([]);
      expect((nodeRun(bundle) as { paramCount: number }).paramCount).toBe(32);
    } finally {
      await context.dispose();
    }
  });

  it("Vite's dev server compiles a spec on request and again when an imported file changes", async () => {
    const root = project("vite-dev");
    const server = await viteApi.createServer({
      configFile: false,
      root,
      logLevel: "silent",
      plugins: [vitePlugin()],
      server: { middlewareMode: true, hmr: false },
    });
    const paramCount = async () => ((await server.ssrLoadModule("/net.nn")) as { paramCount: number }).paramCount;
    try {
      expect(await paramCount()).toBe(26);
      const lib = path.join(root, "lib", "blocks.nn");
      fs.writeFileSync(lib, blocks.replace("dense(n)", "dense(n + 1)"));
      const deadline = Date.now() + 20_000;
      let now = await paramCount();
      while (now === 26 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        now = await paramCount();
      }
      expect(now).toBe(32);
    } finally {
      await server.close();
    }
  });
});
