// Files, hostile and careless (issue 12, "Files"): what nnc reads (regular files only, under a size cap
// checked before reading; absolute imports; `--root` confinement; import chains of any length), how
// `fmt --write` rewrites (through symbolic links, keeping mode, owner and hard links, refusing read-only
// files, temporary files with unpredictable names created exclusively), how `nnc build` writes (all or
// nothing; every output problem a diagnostic; standard input, empty specs and `--model` made explicit),
// terminal control characters in rendered diagnostics, flag names in messages, and the API's argument
// types. On a real temporary directory, through `main(argv, io)`.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main, type Io } from "../src/cli/main.js";
import { capture } from "./helpers/cli.js";
import { check, compile, format, renderDiagnostics } from "../src/index.js";
import { maxSpecBytes, readAllBounded, readRegularFile, writeFilesAllOrNothing } from "../src/program/node-host.js";
import type { Host } from "../src/program/host.js";

let dir = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-files-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function nnc(argv: string[], extra: Partial<Io> = {}): Promise<{ code: number; out: string; err: string }> {
  const c = capture(extra);
  const code = await main(argv, c.io);
  // Never a crash in our users' faces.
  expect(c.err()).not.toMatch(/internal error|^\s+at /m);
  return { code, out: c.out(), err: c.err() };
}

/** A file in the temporary directory (made of `text` when given). */
function file(name: string, text?: string): string {
  const f = path.join(dir, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  if (text !== undefined) fs.writeFileSync(f, text);
  return f;
}

const model = "model M(x: f32[4]) {\n  dense(2)\n}\n";
/** Not canonical; its canonical form is `canonical`. */
const messy = "model   M(x:f32[4]){dense(8)  relu;dense(2)}\n";
const canonical = "model M(x: f32[4]) {\n  dense(8) relu\n  dense(2)\n}\n";
const isRoot = process.getuid?.() === 0;

describe("reads: regular files only, under a size cap checked before reading", () => {
  it("a named pipe, a character device and a directory are refused at once, as entries and as imports", async () => {
    const fifo = file("pipe.nn");
    execFileSync("mkfifo", [fifo]);
    const entry = file("reads.nn", `import "${fifo}"\nimport "/dev/zero"\nimport "${dir}"\n\n${model}`);
    // Before: the pipe (no writer) hung forever, /dev/zero aborted on memory.
    const started = Date.now();
    const imports = await nnc(["check", entry]);
    expect(imports.code).toBe(1);
    expect(imports.err).toMatch(
      /error\[NN6007\]: cannot import `[^`]*pipe\.nn`: not a regular file \(a named pipe\)\n --> [^\n]*reads\.nn:1:8/,
    );
    expect(imports.err).toMatch(
      /error\[NN6007\]: cannot import `\/dev\/zero`: not a regular file \(a character device\)\n --> [^\n]*reads\.nn:2:8/,
    );
    expect(imports.err).toMatch(/error\[NN6007\]: cannot import `[^`]*`: it is a directory\n --> [^\n]*reads\.nn:3:8/);
    // A missing import is NN6001, a file that exists but cannot be read NN6007 (the host says which).
    const missing = await nnc(["check", file("missing.nn", `import "./nowhere.nn"\n\n${model}`)]);
    expect(missing.err).toMatch(/^error\[NN6001\]: cannot import `\.\/nowhere\.nn`: no such file\n/);
    const host: Host = {
      readFile: (f) =>
        f === "main.nn"
          ? { ok: true, text: `import "./a.nn"\nimport "./b.nn"\n\n${model}` }
          : {
              ok: false,
              reason: f.endsWith("a.nn") ? "permission denied" : "no such file",
              exists: f.endsWith("a.nn"),
            },
    };
    const codes = check("main.nn", { host }).diagnostics.map((d) => `${d.code} ${d.message}`);
    expect(codes).toEqual([
      "NN6007 cannot import `./a.nn`: permission denied",
      "NN6001 cannot import `./b.nn`: no such file",
    ]);
    const entries = await nnc(["check", fifo, "/dev/zero", dir]);
    expect(entries.code).toBe(1);
    expect(entries.err).toContain(`error[NN0002]: cannot read ${fifo}: not a regular file (a named pipe)`);
    expect(entries.err).toContain("error[NN0002]: cannot read /dev/zero: not a regular file (a character device)");
    expect(entries.err).toContain(`error[NN0002]: cannot read ${dir}: it is a directory`);
    const fmt = await nnc(["fmt", fifo]);
    expect([fmt.code, fmt.err]).toEqual([1, `error[NN0002]: cannot read ${fifo}: not a regular file (a named pipe)\n`]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a file over the cap is refused from its size, before any byte is read", async () => {
    const big = file("big.nn");
    // A sparse file: its size is over the cap, its blocks are not allocated.
    fs.writeFileSync(big, "");
    fs.truncateSync(big, maxSpecBytes + 1);
    const spy = vi.spyOn(fs, "readSync");
    try {
      const r = await nnc(["check", big]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `error[NN0002]: cannot read ${big}: too large: 16,777,217 bytes, over the limit of 16 MiB`,
      );
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    // At the cap a file is read; one byte more is refused (a small cap here: the boundary is the same).
    const small = file("small.nn", "x".repeat(1000));
    expect(readRegularFile(small, 1000)).toMatchObject({ ok: true, bytes: Buffer.from("x".repeat(1000)) });
    expect(readRegularFile(small, 999)).toEqual({
      ok: false,
      reason: "too large: 1,000 bytes, over the limit of 999 bytes",
      exists: true,
    });
  });

  it("standard input is read up to the cap and no further: `nnc check - < /dev/zero` ends", async () => {
    const fd = fs.openSync("/dev/zero", "r");
    try {
      expect(() => readAllBounded(fd, 1000)).toThrow("too large: more than 1,000 bytes, over the limit of 1,000 bytes");
      const r = await nnc(["check", "-"], { readStdin: () => readAllBounded(fd) });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /^error\[NN0002\]: cannot read standard input: too large: more than 16,777,216 bytes, over the limit of 16 MiB\n/,
      );
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe("imports: absolute paths, --root, long chains", () => {
  const lib = "block Mlp(n) {\n  dense(n) relu\n  dense(2)\n}\n";
  const net = (from: string) =>
    `import { Mlp } from "${from}"\n\nmodel Net(x: f32[4]) {\n  Mlp(8)\n\n  expect params == 58\n}\n`;

  it("an absolute import path is that path, from a file and from standard input", async () => {
    const libFile = file("abs/lib.nn", lib);
    const entry = file("abs/sub/net.nn", net(libFile));
    // Before: the path was joined to the importing file's directory (abs/sub/<the absolute path>).
    expect(await nnc(["check", entry])).toEqual({ code: 0, out: "", err: "" });
    // From standard input it was resolved against the working directory.
    expect(await nnc(["check", "-"], { readStdin: () => Buffer.from(net(libFile)) })).toEqual({
      code: 0,
      out: "",
      err: "",
    });
    // A relative import from standard input is still refused (NN6005), now with the way out.
    const relative = await nnc(["check", "-"], { readStdin: () => Buffer.from(net("./lib.nn")) });
    expect(relative.err).toMatch(
      /error\[NN6005\][\s\S]*help: pass the file name instead of `-`, or import an absolute path/,
    );
  });

  it("--root: an import outside the root is refused where it is written; a symbolic link does not escape", async () => {
    const root = file("root/.keep", "");
    const inside = path.dirname(root);
    file("outside/lib.nn", lib);
    file("root/lib.nn", lib);
    fs.symlinkSync(path.join(dir, "outside/lib.nn"), path.join(inside, "link.nn"));
    const good = file("root/good.nn", net("./lib.nn"));
    expect(await nnc(["check", "--root", inside, good])).toEqual({ code: 0, out: "", err: "" });

    for (const [name, from] of [
      ["dotdot.nn", "../outside/lib.nn"],
      ["absolute.nn", path.join(dir, "outside/lib.nn")],
      ["link-escape.nn", "./link.nn"],
    ] as const) {
      const entry = file(`root/${name}`, net(from));
      const r = await nnc(["check", "--root", inside, entry]);
      expect(r.code, name).toBe(1);
      expect(r.err, name).toMatch(
        new RegExp(
          `^error\\[NN6006\\]: cannot import \`${from.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\`: outside the root directory [^\\n]*\\n --> [^\\n]*${name}:1:21\\n`,
        ),
      );
      expect(r.err, name).toMatch(/= help: move the file under the root directory, or give a wider `--root`/);
      // Without --root the same spec checks.
      expect((await nnc(["check", entry])).code, name).toBe(0);
    }
    // The entry file itself is confined too; count and build take --root as well.
    const outsideEntry = file("outside/net.nn", net("./lib.nn"));
    const entry = await nnc(["count", "--root", inside, outsideEntry]);
    expect(entry.code).toBe(1);
    expect(entry.err).toMatch(/^error\[NN0002\]: cannot read [^\n]*outside\/net\.nn: outside the root directory/);
    const built = await nnc(["build", "--root", inside, path.join(inside, "dotdot.nn"), "--out", file("root-out/x")]);
    expect(built.code).toBe(1);
    expect(built.err).toMatch(/^error\[NN6006\]/);
    // A root that is no directory is a usage error.
    expect((await nnc(["check", "--root", path.join(dir, "nowhere"), good])).err).toMatch(
      /^error\[NN0001\]: `--root [^`]*nowhere`: no such file\n/,
    );
  });

  it("an import chain of 2,000 files loads and checks (it overflowed the stack: an internal error)", async () => {
    const n = 2000;
    const files = new Map<string, string>();
    for (let i = 1; i < n; i++) {
      files.set(
        `f${i}.nn`,
        i + 1 < n ? `import { c${i + 1} } from "./f${i + 1}.nn"\nconst c${i} = c${i + 1} + 1\n` : `const c${i} = 1\n`,
      );
    }
    // c1 = 1,999 (one more per file from c1999 = 1): dense(1999) on 4 inputs has 4·1999 weights + 1999 biases.
    files.set(
      "f0.nn",
      `import { c1 } from "./f1.nn"\n\nmodel M(x: f32[4]) {\n  dense(c1)\n\n  expect params == ${5 * 1999}\n}\n`,
    );
    const host: Host = {
      readFile: (f) => (files.has(f) ? { ok: true, text: files.get(f)! } : { ok: false, reason: "no such file" }),
    };
    expect(await nnc(["check", "f0.nn"], { host })).toEqual({ code: 0, out: "", err: "" });
    // And a cycle through all of them is still found.
    files.set(`f${n - 1}.nn`, `import "./f1.nn"\nconst c${n - 1} = 1\n`);
    const cycle = await nnc(["check", "f0.nn"], { host });
    expect(cycle.err).toMatch(/^error\[NN6002\]: import cycle: f1\.nn → f2\.nn → [^\n]* → f1999\.nn → f1\.nn\n/);
  }, 30_000);
});

describe("fmt --write", () => {
  it("writes through a symbolic link to its target; the link stays a link", async () => {
    const target = file("fmt/target.nn", messy);
    const link = path.join(dir, "fmt/link.nn");
    fs.symlinkSync("target.nn", link);
    expect(await nnc(["fmt", "--write", link])).toEqual({ code: 0, out: "", err: "" });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, "utf8")).toBe(canonical);
  });

  it("keeps hard links: every name of the file sees the new text (the same inode, rewritten in place)", async () => {
    const a = file("fmt/a.nn", messy);
    const b = path.join(dir, "fmt/b.nn");
    fs.linkSync(a, b);
    const inode = fs.statSync(a).ino;
    expect(await nnc(["fmt", "--write", a])).toEqual({ code: 0, out: "", err: "" });
    expect(fs.readFileSync(b, "utf8")).toBe(canonical);
    expect([fs.statSync(a).ino, fs.statSync(b).ino, fs.statSync(a).nlink]).toEqual([inode, inode, 2]);
  });

  it("refuses a read-only file with NN0003 and leaves it alone", async () => {
    const ro = file("fmt/ro.nn", messy);
    fs.chmodSync(ro, 0o444);
    const r = await nnc(["fmt", "--write", ro]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `error[NN0003]: cannot write ${ro}: it is read-only\n  = help: make it writable (\`chmod u+w ${ro}\`) for \`nnc fmt --write\` to rewrite it, or leave out --write\n`,
    );
    expect(fs.readFileSync(ro, "utf8")).toBe(messy);
    expect(fs.statSync(ro).mode & 0o777).toBe(0o444);
  });

  it("keeps the mode, and the owner and group (when the process may give them: root here)", async () => {
    const f = file("fmt/owned.nn", messy);
    fs.chmodSync(f, 0o640);
    if (isRoot) fs.chownSync(f, 4321, 4322);
    expect(await nnc(["fmt", "--write", f])).toEqual({ code: 0, out: "", err: "" });
    const stat = fs.statSync(f);
    expect(stat.mode & 0o777).toBe(0o640);
    if (isRoot) expect([stat.uid, stat.gid]).toEqual([4321, 4322]);
    expect(fs.readFileSync(f, "utf8")).toBe(canonical);
  });

  it("its temporary file has an unpredictable name and is created exclusively (never through a link)", async () => {
    const f = file("fmt/tmp/x.nn", messy);
    const opened: { name: string; flags: unknown }[] = [];
    const real = fs.openSync;
    const spy = vi.spyOn(fs, "openSync").mockImplementation(((
      name: fs.PathLike,
      flags?: fs.OpenMode,
      mode?: fs.Mode,
    ) => {
      opened.push({ name: String(name), flags });
      return real(name, flags ?? "r", mode);
    }) as typeof fs.openSync);
    try {
      expect(await nnc(["fmt", "--write", f])).toEqual({ code: 0, out: "", err: "" });
    } finally {
      spy.mockRestore();
    }
    const temporary = opened.filter((o) => o.name !== f);
    expect(temporary.length).toBe(1);
    // 96 random bits (crypto.randomBytes), not a pid and a clock.
    expect(path.basename(temporary[0]!.name)).toMatch(/^\.x\.nn\.[0-9a-f]{24}\.tmp$/);
    expect(temporary[0]!.flags).toBe("wx");
    expect(fs.readdirSync(path.dirname(f))).toEqual(["x.nn"]);
    expect(fs.readFileSync(f, "utf8")).toBe(canonical);
  });
});

describe("nnc build: all or nothing, and every output problem a diagnostic", () => {
  const two = "model A(x: f32[4]) {\n  dense(2)\n}\n\nmodel B(x: f32[4]) {\n  dense(3)\n}\n";

  it("a failure while moving outputs into place puts every earlier one back, and leaves nothing behind", () => {
    const out = file("atomic/out/.keep", "");
    const outDir = path.dirname(out);
    const old = file("atomic/out/a.ts", "old a\n");
    const files = [
      { file: old, text: "new a\n" },
      { file: path.join(outDir, "b.ts"), text: "new b\n" },
      { file: path.join(outDir, "c.ts"), text: "new c\n" },
      { file: path.join(dir, "atomic/new-dir/d.ts"), text: "new d\n" },
    ];
    let moves = 0;
    const failThird = (from: string, to: string) => {
      if (++moves === 3) throw Object.assign(new Error("injected"), { code: "EIO" });
      fs.renameSync(from, to);
    };
    expect(() => writeFilesAllOrNothing(files, failThird)).toThrow(/^cannot write [^\n]*c\.ts: EIO$/);
    expect(fs.readFileSync(old, "utf8")).toBe("old a\n");
    expect(fs.readdirSync(outDir).sort()).toEqual([".keep", "a.ts"]);
    expect(fs.existsSync(path.join(dir, "atomic/new-dir"))).toBe(false);
    // Without the fault, all four.
    writeFilesAllOrNothing(files);
    expect(files.map((f) => fs.readFileSync(f.file, "utf8"))).toEqual(["new a\n", "new b\n", "new c\n", "new d\n"]);
    expect(fs.readdirSync(outDir).sort()).toEqual([".keep", "a.ts", "b.ts", "c.ts"]);
  });

  it("when one output cannot be written, none is (the first used to be written already)", async () => {
    const src = file("partial/two.nn", two);
    const out = path.join(dir, "partial/out");
    fs.mkdirSync(path.join(out, "two.B.ts"), { recursive: true });
    const r = await nnc(["build", src, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `error[NN0003]: cannot write ${path.join(out, "two.B.ts")}: it is a directory\n  = help: nothing was written: every output is left as it was\n1 error, 0 warnings; nothing written\n`,
    );
    expect(fs.readdirSync(out)).toEqual(["two.B.ts"]);
  });

  it("--out naming a file, a directory nnc cannot write, or nothing: a diagnostic, never an internal error", async () => {
    const src = file("outs/m.nn", model);
    const existing = file("outs/a-file", "");
    const onFile = await nnc(["build", src, "--out", existing]);
    expect([onFile.code, onFile.err]).toEqual([
      1,
      `error[NN0003]: cannot write into ${existing}: it is a file, not a directory\n  = help: nothing was written: every output is left as it was\n1 error, 0 warnings; nothing written\n`,
    ]);
    expect(fs.readFileSync(existing, "utf8")).toBe("");
    const empty = await nnc(["build", src, "--out", ""]);
    expect([empty.code, empty.err]).toEqual([
      2,
      "error[NN0001]: `--out` needs a value, found an empty one\n  = help: write `--out DIR`\n",
    ]);
    // A directory this process cannot write into: one it may not write (when not root), or one of /sys.
    const unwritable = isRoot ? "/sys/kernel" : path.join(dir, "outs/locked");
    if (!isRoot) {
      fs.mkdirSync(unwritable);
      fs.chmodSync(unwritable, 0o555);
    }
    const denied = await nnc(["build", src, "--out", unwritable]);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(
      new RegExp(
        `^error\\[NN0003\\]: cannot write into ${unwritable}: (permission denied|the file system is read-only)\\n`,
      ),
    );
    if (!isRoot) fs.chmodSync(unwritable, 0o755);
    // Under /proc, where Node's recursive mkdir never returns.
    const proc = await nnc(["build", src, "--out", "/proc/nnc-test/out"]);
    expect(proc.code).toBe(1);
    expect(proc.err).toMatch(/^error\[NN0003\]: cannot create \/proc\/nnc-test\/out: /);
  });

  it("`nnc build -` prints its module on stdout; it never writes <stdin>.ts", async () => {
    const cwd = process.cwd();
    const stdin = (text: string) => ({ readStdin: () => Buffer.from(text) });
    const one = await nnc(["build", "-"], stdin(model));
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/^\/\*\*\n \* @generated by nnc [^\n]* from <stdin> — model M\./);
    expect(one.out).toContain("export const paramCount = 10;");
    expect(one.err).toBe("");
    expect(fs.existsSync(path.join(cwd, "<stdin>.ts"))).toBe(false);
    const several = await nnc(["build", "-"], stdin(two));
    expect([several.code, several.out]).toEqual([2, ""]);
    expect(several.err).toBe(
      "error[NN0001]: standard input defines 2 models (`A`, `B`); `nnc build -` prints one module: choose it with --model\n",
    );
    const chosen = await nnc(["build", "-", "--model", "B"], stdin(two));
    expect(chosen.code).toBe(0);
    expect(chosen.out).toContain("export const paramCount = 15;");
    for (const [args, message] of [
      [["--out", path.join(dir, "o")], "`nnc build -` prints the module on stdout; --out does not apply"],
      [["--emit", "js"], "`nnc build -` prints one module; --emit js makes two files (x.js and x.d.ts)"],
      [[file("stdin-other.nn", model)], "`nnc build -` takes no other input: standard input is built to stdout"],
    ] as const) {
      const r = await nnc(["build", "-", ...args], stdin(model));
      expect([r.code, r.out], message).toEqual([2, ""]);
      expect(r.err.split("\n")[0]).toBe(`error[NN0001]: ${message}`);
    }
  });

  it("an empty or blocks-only spec: an error when nothing at all is built, a warning beside other specs", async () => {
    const blocks = file("empty/lib.nn", "block Mlp(n) {\n  dense(n)\n}\n");
    const empty = file("empty/empty.nn", "");
    const net = file("empty/net.nn", model);
    const out = path.join(dir, "empty/out");
    const alone = await nnc(["build", blocks, "--out", out]);
    expect(alone).toEqual({
      code: 1,
      out: "",
      err: `error[NN0009]: nothing to build: ${blocks} defines no model\n  = help: a file of blocks and constants is imported by a spec that defines a \`model\`; build that spec\n1 error, 0 warnings; nothing written\n`,
    });
    expect((await nnc(["build", empty, blocks, "--out", out])).err).toMatch(
      /^error\[NN0009\]: nothing to build: none of the 2 inputs defines a model\n/,
    );
    expect(fs.existsSync(out)).toBe(false);
    const mixed = await nnc(["build", blocks, net, "--out", out]);
    expect(mixed.code).toBe(0);
    expect(mixed.err).toMatch(
      new RegExp(
        `^warning\\[NN0008\\]: ${blocks.replace(/[.]/g, "\\.")} defines no model: nothing is built from it\\n`,
      ),
    );
    expect(mixed.err).toMatch(/1 file written, 0 unchanged\n$/);
  });

  it("--model names the file by the spec's models: two models built one at a time do not overwrite each other", async () => {
    const src = file("model/two.nn", two);
    const out = path.join(dir, "model/out");
    expect((await nnc(["build", src, "--model", "A", "--out", out])).out).toBe(`${path.join(out, "two.A.ts")}\n`);
    expect((await nnc(["build", src, "--model", "B", "--out", out])).out).toBe(`${path.join(out, "two.B.ts")}\n`);
    expect(fs.readdirSync(out).sort()).toEqual(["two.A.ts", "two.B.ts"]);
    expect(fs.readFileSync(path.join(out, "two.A.ts"), "utf8")).toContain("export const paramCount = 10;");
  });

  it("flag problems name the flags as they are written", async () => {
    const src = file("flags/m.nn", model);
    const r = await nnc(["build", src, "--unroll-limit", "2000000", "--out", path.join(dir, "flags/out")]);
    expect([r.code, r.err]).toEqual([2, "error[NN0001]: `--unroll-limit` must be at most 4096, found 2000000\n"]);
    const model2 = await nnc(["count", src, "--model="]);
    expect([model2.code, model2.err]).toEqual([
      2,
      "error[NN0001]: `--model` needs a value, found an empty one\n  = help: write `--model NAME`\n",
    ]);
  });
});

describe("terminal control characters", () => {
  const esc = "\u001b";
  it("are escaped in rendered diagnostics (file names, code frames, messages), kept in JSON", async () => {
    const name = file(
      `ctl/bad${esc}[2J${esc}]0;pwned\u0007.nn`,
      `model M(x: f32[4]) {\n  desne(2) # ${esc}[31mred\u009b1m\u007f\n}\n`,
    );
    const text = await nnc(["check", name]);
    expect(text.code).toBe(1);
    expect(text.err).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text.err).toContain(`bad\\x1b[2J\\x1b]0;pwned\\x07.nn:2:3`);
    // Each control character takes one column in the frame (its control picture), so marks stay aligned.
    expect(text.err).toContain("2 |   desne(2) # ␛[31mred\ufffd1m␡\n  |   ^^^^^\n");
    const json = await nnc(["check", "--format", "json", name]);
    const parsed = JSON.parse(json.out) as { diagnostics: { span: { file: string } }[] };
    expect(parsed.diagnostics[0]!.span.file).toBe(name);
    // The public renderer does the same for a message that quotes the spec.
    const rendered = renderDiagnostics(
      [
        {
          code: "NN2004",
          severity: "error",
          message: `unknown layer \`${esc}[31m\``,
          labels: [],
          notes: [`a${esc}b`],
          help: `c\u009bd`,
        },
      ],
      new Map(),
    );
    expect(rendered).toBe("error[NN2004]: unknown layer `\\x1b[31m`\n  = note: a\\x1bb\n  = help: c\\x9bd\n");
    // With colour on, the only escape sequences are nnc's own colours.
    const coloured = await nnc(["check", name], { stderrIsTty: true });
    expect(coloured.err.replace(/\u001b\[[0-9;]*m/g, "")).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(coloured.err).not.toContain(`${esc}[31mred`);
    // The count report names the file too (on stdout): escaped in text and Markdown, kept in JSON.
    const clean = file(`ctl/ok${esc}[2J.nn`, model);
    expect((await nnc(["count", clean])).out).toContain(`model M (${clean.replace(esc, "\\x1b")})\n`);
    expect((await nnc(["count", clean, "--format", "markdown"])).out).toContain(
      `Source: \`${clean.replace(esc, "\\x1b")}\``,
    );
    expect(
      (JSON.parse((await nnc(["count", clean, "--format", "json"])).out) as { models: { file: string }[] }).models[0]!
        .file,
    ).toBe(clean);
  });
});

describe("the API: arguments of the wrong type", () => {
  it("compile(42), check(42), format(null): a TypeError that says so (compile(42) said `too deeply nested`)", async () => {
    await expect(compile(42 as unknown as string)).rejects.toThrow(
      new TypeError("compile: `source` must be a string, got a number (42)"),
    );
    await expect(compile("", null as unknown as object)).rejects.toThrow(
      new TypeError("compile: `options` must be an object, got null"),
    );
    expect(() => check(42 as unknown as string)).toThrow(
      new TypeError("check: `file` must be a string, got a number (42)"),
    );
    expect(() => check("x.nn", { text: Buffer.from("") as unknown as string })).toThrow(
      new TypeError("check: `options.text` must be a string, got an object"),
    );
    expect(() => format(null as unknown as string)).toThrow(new TypeError("format: `text` must be a string, got null"));
    // Strings still work as before.
    expect(format(messy).text).toBe(canonical);
  });
});
