// `nnc build` through `main(argv, io)` on a real temporary directory: write-if-changed, `--emit js` (the
// JavaScript runs and matches the TypeScript build; the declarations type-check a consumer under
// `tsc --strict`), progress lines, and `--watch` surviving broken specs, deleted files and renamed imports.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { capture } from "./helpers/cli.js";
import type { Host } from "../src/program/load.js";

let dir = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-build-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = (width: number) => `model M(x: f32[4]) {\n  dense(${width}) relu\n  dense(2)\n}\n`;
/** The generated module's parameter count for a 4 → width → 2 network. */
const params = (width: number) => `paramCount = ${7 * width + 2};`;

describe("write-if-changed", () => {
  it("an unchanged output keeps its inode and mtime; a changed one is replaced", async () => {
    const src = path.join(dir, "wic.nn");
    const out = path.join(dir, "wic-out");
    const target = path.join(out, "wic.ts");
    fs.writeFileSync(src, spec(8));
    const first = capture();
    expect(await main(["build", src, "--out", out], first.io), first.err()).toBe(0);
    expect(first.out()).toBe(`${target}\n`);
    expect(first.err()).toBe("1 file written, 0 unchanged\n");
    // Back-date the file so that a rewrite, however quick, shows in the mtime.
    fs.utimesSync(target, new Date(2000, 0, 1), new Date(2000, 0, 1));
    const before = fs.statSync(target);

    const second = capture();
    expect(await main(["build", src, "--out", out], second.io)).toBe(0);
    expect(second.out()).toBe(`${target}\n`);
    expect(second.err()).toBe("0 files written, 1 unchanged\n");
    const after = fs.statSync(target);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);

    fs.writeFileSync(src, spec(9));
    const third = capture();
    expect(await main(["build", src, "--out", out], third.io)).toBe(0);
    expect(third.err()).toBe("1 file written, 0 unchanged\n");
    expect(fs.statSync(target).mtimeMs).not.toBe(before.mtimeMs);
    expect(fs.readFileSync(target, "utf8")).toContain(params(9));
    expect(fs.readdirSync(out)).toEqual(["wic.ts"]);
  });

  it("with an injected file system: a write only when the text differs", async () => {
    const files: Record<string, string> = { "m.nn": spec(8) };
    const host: Host = {
      readFile: (f) => (files[f] === undefined ? { ok: false, reason: "no such file" } : { ok: true, text: files[f]! }),
    };
    const disk = new Map<string, string>();
    const writes: string[] = [];
    const io = () =>
      capture({
        host,
        writeFile: (f, t) => (writes.push(f), disk.set(f, t)),
        readOutput: (f) => disk.get(f),
      });
    const a = io();
    expect(await main(["build", "m.nn", "--out", "o"], a.io)).toBe(0);
    const b = io();
    expect(await main(["build", "m.nn", "--out", "o"], b.io)).toBe(0);
    expect(writes).toEqual([path.join("o", "m.ts")]);
    expect(b.err()).toBe("0 files written, 1 unchanged\n");
    // A file changed by hand is put back.
    disk.set(path.join("o", "m.ts"), "// edited\n");
    const c = io();
    expect(await main(["build", "m.nn", "--out", "o"], c.io)).toBe(0);
    expect(writes.length).toBe(2);
    expect(c.err()).toBe("1 file written, 0 unchanged\n");
  });

  it("an output directory that cannot be created is NN0003, not a crash", async () => {
    const src = path.join(dir, "blocked.nn");
    fs.writeFileSync(src, spec(4));
    const file = path.join(dir, "a-file");
    fs.writeFileSync(file, "");
    const c = capture();
    expect(await main(["build", src, "--out", path.join(file, "sub")], c.io)).toBe(1);
    expect(c.err()).toMatch(/^error\[NN0003\]: cannot create .*a-file\/sub: /);
    expect(c.err()).toMatch(/1 error, 0 warnings; nothing written\n$/);
  });
});

describe("--emit js", () => {
  const out = () => path.join(dir, "js-out");
  let built = capture();
  beforeAll(async () => {
    built = capture();
    expect(await main(["build", "examples/mnist-mlp.nn", "--emit", "js", "--out", out()], built.io), built.err()).toBe(
      0,
    );
  }, 60_000);

  it("writes x.js and x.d.ts; the JavaScript computes what the TypeScript build computes", async () => {
    expect(fs.readdirSync(out()).sort()).toEqual(["mnist-mlp.d.ts", "mnist-mlp.js"]);
    expect(built.out()).toBe(`${path.join(out(), "mnist-mlp.js")}\n${path.join(out(), "mnist-mlp.d.ts")}\n`);
    type Module = {
      createParams(seed?: number): Float32Array;
      forward(p: Float32Array, x: Float32Array, n: number): Float32Array;
      inputSize: number;
    };
    const js = (await import(pathToFileURL(path.join(out(), "mnist-mlp.js")).href)) as Module;
    // generated/mnist-mlp.ts is `nnc build`'s TypeScript output (test/generated.test.ts keeps it current).
    const ts = (await import(pathToFileURL(path.resolve("generated/mnist-mlp.ts")).href)) as Module;
    const x = Float32Array.from({ length: 2 * ts.inputSize }, (_, i) => Math.sin(i * 0.37));
    const a = js.forward(js.createParams(3), x, 2);
    const b = ts.forward(ts.createParams(3), x, 2);
    expect(a.length).toBe(20);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("the declarations type-check a consumer under tsc --strict, and reject a wrong call", () => {
    const consumer = (call: string) =>
      [
        'import { createParams, forward, inputSize, type ForwardOptions } from "./mnist-mlp.js";',
        "const p: Float32Array = createParams(1);",
        "const options: ForwardOptions = {};",
        `const y: Float32Array = ${call};`,
        "export const first: number | undefined = y[0];",
        "",
      ].join("\n");
    fs.writeFileSync(path.join(out(), "good.ts"), consumer("forward(p, new Float32Array(inputSize), 1, options)"));
    // Not `any`: a string where the input goes is a type error.
    fs.writeFileSync(path.join(out(), "bad.ts"), consumer('forward(p, "pixels", 1, options)'));
    // Only the ES library and no @types: the check needs nothing else, and loads in a fraction of the time.
    const compilerOptions = {
      strict: true,
      noEmit: true,
      target: "es2022",
      lib: ["es2022"],
      types: [],
      module: "nodenext",
    };
    fs.writeFileSync(
      path.join(out(), "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: ["good.ts", "bad.ts"] }),
    );
    const r = spawnSync(
      process.execPath,
      ["node_modules/typescript/bin/tsc", "-p", path.join(out(), "tsconfig.json")],
      { encoding: "utf8" },
    );
    expect(r.status).not.toBe(0);
    const errors = r.stdout
      .trim()
      .split("\n")
      .filter((l) => /error TS/.test(l));
    expect(errors).toEqual([
      expect.stringMatching(/bad\.ts\(4,\d+\): error TS2345: Argument of type 'string' is not assignable/),
    ]);
  }, 60_000);
});

describe("progress", () => {
  const two = "model A(x: f32[4]) {\n  dense(2)\n}\n\nmodel B(x: f32[4]) {\n  dense(3)\n}\n";
  const host: Host = {
    readFile: (f) => (f === "two.nn" ? { ok: true, text: two } : { ok: false, reason: "no such file" }),
  };
  /** A clock that advances `step` ms at every reading. */
  const clock = (step: number) => {
    let t = 0;
    return () => (t += step);
  };
  const run = async (tty: boolean, step: number) => {
    const c = capture({ host, writeFile: () => {}, stderrIsTty: tty, now: clock(step) });
    expect(await main(["build", "two.nn"], c.io)).toBe(0);
    return c.err();
  };

  it("a build over a second on a terminal: one line per model with its time", async () => {
    // The clock is read at the start and after each model: A ends at 700 ms (held back), B at 1,400 ms.
    expect(await run(true, 700)).toBe(
      "  built A (two.nn) in 700 ms\n  built B (two.nn) in 700 ms\n2 files written, 0 unchanged\n",
    );
  });

  it("silent for a build under a second, and whenever stderr is not a terminal", async () => {
    expect(await run(true, 400)).toBe("2 files written, 0 unchanged\n");
    expect(await run(false, 700)).toBe("2 files written, 0 unchanged\n");
  });
});

describe("--watch", () => {
  it("rebuilds on change; survives broken specs, deleted files, editors' renames and renamed imports; Ctrl-C exits 0", async () => {
    const w = path.join(dir, "watch");
    const out = path.join(w, "out");
    fs.mkdirSync(w);
    const main1 = path.join(w, "net.nn");
    const lib = path.join(w, "lib.nn");
    const target = path.join(out, "net.ts");
    const net = (from: string, width: number) =>
      `import { Mlp } from "./${from}"\n\nmodel Net(x: f32[4]) {\n  Mlp(${width})\n}\n`;
    fs.writeFileSync(lib, "block Mlp(n) {\n  dense(n) relu\n  dense(2)\n}\n");
    fs.writeFileSync(main1, net("lib.nn", 8));

    const controller = new AbortController();
    const c = capture({ interrupt: () => controller.signal });
    const done = main(["build", "--watch", main1, "--out", out], c.io);
    const builds = () => c.err().split("for changes; Ctrl-C to stop\n").length - 1;
    /** Waits until the next build has finished (bounded: 20 s). */
    const nextBuild = async (seen: number) => {
      const until = Date.now() + 20_000;
      while (builds() <= seen) {
        if (Date.now() > until) throw new Error(`no rebuild after build ${seen}; stderr:\n${c.err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return c.err().split("for changes; Ctrl-C to stop\n")[seen]!;
    };

    let log = await nextBuild(0);
    expect(log).toMatch(/1 file written, 0 unchanged\nwatching 2 files $/);
    expect(fs.readFileSync(target, "utf8")).toContain(params(8));
    // Watch builds are not formatted with prettier (the generated code is otherwise the same).
    expect(c.out()).toBe(`${target}\n`);

    // An edit of the spec.
    fs.writeFileSync(main1, net("lib.nn", 9));
    log = await nextBuild(1);
    expect(log).toMatch(/^1 file written, 0 unchanged\n/);
    expect(fs.readFileSync(target, "utf8")).toContain(params(9));

    // A broken spec: diagnostics, the last good output stays, watching goes on.
    const good = fs.readFileSync(target, "utf8");
    fs.writeFileSync(main1, "model Net(x: f32[4]) {\n  dense(9 relu\n}\n");
    log = await nextBuild(2);
    expect(log).toMatch(/^error\[NN1007\][\s\S]*1 error, 0 warnings; nothing written\n/);
    expect(fs.readFileSync(target, "utf8")).toBe(good);

    // Fixed the way many editors save: a new file renamed over the old one.
    fs.writeFileSync(`${main1}.swp`, net("lib.nn", 10));
    fs.renameSync(`${main1}.swp`, main1);
    log = await nextBuild(3);
    expect(log).toMatch(/^1 file written/);
    expect(fs.readFileSync(target, "utf8")).toContain(params(10));

    // The import deleted, then back.
    fs.rmSync(lib);
    log = await nextBuild(4);
    expect(log).toMatch(/^error\[NN6\d{3}\]: cannot import `\.\/lib\.nn`: no such file/);
    fs.writeFileSync(lib, "block Mlp(n) {\n  dense(n) tanh\n  dense(2)\n}\n");
    log = await nextBuild(5);
    expect(log).toMatch(/^1 file written/);
    expect(fs.readFileSync(target, "utf8")).toContain("tanh");

    // The import renamed: an error until the spec follows.
    fs.renameSync(lib, path.join(w, "layers.nn"));
    log = await nextBuild(6);
    expect(log).toMatch(/^error\[NN6\d{3}\]: cannot import `\.\/lib\.nn`/);
    fs.writeFileSync(main1, net("layers.nn", 10));
    log = await nextBuild(7);
    expect(log).toMatch(/^0 files written, 1 unchanged\nwatching 2 files $/);

    // Nothing half-written, no temporary file left behind.
    expect(fs.readdirSync(out)).toEqual(["net.ts"]);
    controller.abort();
    expect(await done).toBe(0);
  }, 120_000);

  it("standard input cannot be watched; bad options end it at once with exit 2", async () => {
    const c = capture({ interrupt: () => new AbortController().signal });
    expect(await main(["build", "--watch", "-"], c.io)).toBe(2);
    expect(c.err()).toMatch(/^error\[NN0001\]: --watch cannot watch standard input/);
    const src = path.join(dir, "tile.nn");
    fs.writeFileSync(src, spec(4));
    const d = capture({ interrupt: () => new AbortController().signal });
    expect(await main(["build", "--watch", src, "--tile", "99", "--out", path.join(dir, "tile-out")], d.io)).toBe(2);
    expect(d.err()).toMatch(/^error\[NN0001\]: `--tile` must be at most 16, found 99\n/);
  });
});
