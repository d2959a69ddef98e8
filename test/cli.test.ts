// The `nnc` command line: `main(argv, io)` in-process with a fake Io (captured stdout/stderr, an in-memory
// file system), table-driven; then a few runs of the real `node bin/nnc.js` for exit codes and the absence of
// stack traces. Exit codes: 0 clean, 1 errors (or `fmt --check` failed), 2 usage error.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, type Io } from "../src/cli/main.js";
import { capture } from "./helpers/cli.js";
import type { Host, ReadResult } from "../src/program/load.js";

// ── fixtures ──────────────────────────────────────────────────────────────────────────────────────────

const clean = "model M(x: f32[4]) {\n  dense(8) relu\n  dense(2)\n\n  expect params == 58\n}\n";
const broken = "model M(x: f32[4]) {\n  dense(8) relu\n  desne(2)\n}\n";
const syntaxError = "model M(x: f32[4]) {\n  dense(8 relu\n}\n";
/** Not canonical: spacing, `;`, the body on one line. */
const messy = "model   M(x:f32[4]){dense(8)  relu;dense(2)}\n";
/** The canonical form of `messy` (grammar/README.md, "Canonical form"). */
const canonical = "model M(x: f32[4]) {\n  dense(8) relu\n  dense(2)\n}\n";

const files: Record<string, string> = {
  "clean.nn": clean,
  "broken.nn": broken,
  "syntax.nn": syntaxError,
  "messy.nn": messy,
  "canonical.nn": canonical,
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  written: Map<string, string>;
}

interface RunOptions {
  stdin?: string | Uint8Array;
  tty?: boolean;
  env?: Record<string, string | undefined>;
}

function memoryHost(contents: Record<string, string>): Host {
  return {
    readFile(file: string): ReadResult {
      const text = contents[file];
      return text === undefined ? { ok: false, reason: "no such file" } : { ok: true, text };
    },
  };
}

async function run(argv: readonly string[], options: RunOptions = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const written = new Map<string, string>();
  const stdin = options.stdin ?? "";
  const io: Io = {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    readStdin: () => (typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin),
    stderrIsTty: options.tty ?? false,
    env: options.env ?? {},
    host: memoryHost(files),
    writeFile: (file, text) => written.set(file, text),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, written };
}

/** A string is matched exactly; each RegExp must match. */
type Expectation = string | RegExp | readonly RegExp[];

function expectText(actual: string, wanted: Expectation | undefined, what: string): void {
  if (wanted === undefined) return;
  if (typeof wanted === "string") expect(actual, what).toBe(wanted);
  else for (const re of wanted instanceof RegExp ? [wanted] : wanted) expect(actual, what).toMatch(re);
}

// ── table: commands, exit codes and where output goes ───────────────────────────────────────────────

interface Case {
  name: string;
  argv: string[];
  stdin?: string | Uint8Array;
  exit: 0 | 1 | 2;
  stdout?: Expectation;
  stderr?: Expectation;
}

const cases: Case[] = [
  // check
  { name: "check: a clean file", argv: ["check", "clean.nn"], exit: 0, stdout: "", stderr: "" },
  {
    name: "check: a file with errors, rendered with location, code frame, help and summary",
    argv: ["check", "broken.nn"],
    exit: 1,
    stdout: "",
    stderr: [
      /^error\[NN2004\]: unknown layer `desne`\n/,
      /--> broken\.nn:3:3\n/,
      /\n3 \| {3}desne\(2\)\n/,
      /\n {2}\| {3}\^{5}\n/,
      /= help: did you mean `dense`\?\n/,
      /\n1 error, 0 warnings\n$/,
    ],
  },
  {
    name: "check: a syntax error",
    argv: ["check", "syntax.nn"],
    exit: 1,
    stdout: "",
    stderr: [/^error\[NN1007\]: unclosed `\(`/, /--> syntax\.nn:2:8\n/, /= help: add `\)`/, /1 error, 0 warnings\n$/],
  },
  {
    name: "check: several files, one summary",
    argv: ["check", "clean.nn", "broken.nn", "syntax.nn"],
    exit: 1,
    stdout: "",
    stderr: [/broken\.nn:3:3/, /syntax\.nn:2:8/, /\n2 errors, 0 warnings\n$/],
  },
  { name: "check: - reads standard input", argv: ["check", "-"], stdin: clean, exit: 0, stdout: "", stderr: "" },
  {
    name: "check: errors in standard input are located in <stdin>",
    argv: ["check", "-"],
    stdin: broken,
    exit: 1,
    stdout: "",
    stderr: [/--> <stdin>:3:3\n/, /1 error, 0 warnings\n$/],
  },
  {
    name: "check: a missing file",
    argv: ["check", "missing.nn"],
    exit: 1,
    stdout: "",
    stderr: [/^error\[NN0002\]: cannot read missing\.nn: no such file\n/, /1 error, 0 warnings\n$/],
  },
  {
    name: "check: a clean file and a missing one",
    argv: ["check", "clean.nn", "missing.nn"],
    exit: 1,
    stderr: /error\[NN0002\]/,
  },
  // usage errors
  {
    name: "no command: the usage, exit 2",
    argv: [],
    exit: 2,
    stdout: "",
    stderr: /^nnc \d+\.\d+\.\d+ — .*\n[\s\S]*usage:/,
  },
  {
    name: "an unknown command",
    argv: ["frobnicate"],
    exit: 2,
    stdout: "",
    stderr: /^error\[NN0001\]: unknown command `frobnicate`/,
  },
  {
    name: "an unknown flag: our wording, no suggestion when nothing is close",
    argv: ["check", "--frobnicate", "clean.nn"],
    exit: 2,
    stdout: "",
    stderr:
      "error[NN0001]: unknown flag `--frobnicate` for `nnc check`\n  = help: run `nnc check --help` for its flags\n",
  },
  {
    name: "a misspelt command: did you mean",
    argv: ["cout", "clean.nn"],
    exit: 2,
    stdout: "",
    stderr: "error[NN0001]: unknown command `cout`\n  = help: did you mean `count`?\n",
  },
  {
    name: "an unknown command far from any",
    argv: ["frobnicate"],
    exit: 2,
    stderr: /= help: run `nnc help` for the list of commands\n$/,
  },
  {
    name: "a misspelt flag: did you mean",
    argv: ["count", "--depht", "2", "clean.nn"],
    exit: 2,
    stdout: "",
    stderr: "error[NN0001]: unknown flag `--depht` for `nnc count`\n  = help: did you mean `--depth`?\n",
  },
  {
    name: "a flag of another command",
    argv: ["check", "--write", "clean.nn"],
    exit: 2,
    stderr: /^error\[NN0001\]: unknown flag `--write` for `nnc check`\n/,
  },
  {
    name: "a short flag",
    argv: ["fmt", "-w", "clean.nn"],
    exit: 2,
    stderr: /^error\[NN0001\]: unknown flag `-w` for `nnc fmt`\n/,
  },
  {
    name: "a misspelt top-level flag",
    argv: ["--verison"],
    exit: 2,
    stderr: "error[NN0001]: unknown flag `--verison`\n  = help: did you mean `--version`?\n",
  },
  {
    name: "a flag without its value",
    argv: ["count", "clean.nn", "--depth"],
    exit: 2,
    stderr: "error[NN0001]: `--depth` needs a value\n  = help: write `--depth N`, where N is a whole number\n",
  },
  {
    name: "a flag followed by another flag instead of its value",
    argv: ["count", "--model", "--depth", "2", "clean.nn"],
    exit: 2,
    stderr: "error[NN0001]: `--model` needs a value\n  = help: write `--model NAME`\n",
  },
  {
    name: "a value that is not a whole number",
    argv: ["count", "--max-params=1e6", "clean.nn"],
    exit: 2,
    stderr: "error[NN0001]: `--max-params` takes a whole number, found `1e6`\n",
  },
  {
    name: "a misspelt choice: did you mean",
    argv: ["count", "--format", "jsno", "clean.nn"],
    exit: 2,
    stderr: "error[NN0001]: unknown format `jsno`\n  = help: did you mean `--format json`?\n",
  },
  {
    name: "a choice far from any",
    argv: ["build", "--emit", "wasm", "clean.nn"],
    exit: 2,
    stderr: "error[NN0001]: unknown output kind `wasm`\n  = help: use --emit ts or js\n",
  },
  {
    name: "a value given to a switch",
    argv: ["fmt", "--write=yes", "messy.nn"],
    exit: 2,
    stderr: "error[NN0001]: `--write` takes no value\n  = help: write `--write` alone\n",
  },
  {
    name: "-- ends the flags",
    argv: ["check", "--", "--frobnicate"],
    exit: 1,
    stderr: /^error\[NN0002\]: cannot read --frobnicate: no such file/,
  },
  // per-command help
  {
    name: "count --help",
    argv: ["count", "--help"],
    exit: 0,
    stderr: "",
    stdout: [
      /^nnc count — /,
      /\nusage: nnc count <file>/,
      /\n {2}--depth N {8}rows for layers/,
      /\n {2}--max-bytes N /,
    ],
  },
  {
    name: "--help wins over mistakes on the same line",
    argv: ["build", "--frob", "-h"],
    exit: 0,
    stderr: "",
    stdout: [/^nnc build — /, /\n {2}--emit KIND /, /\n {2}--watch /],
  },
  { name: "help count", argv: ["help", "count"], exit: 0, stderr: "", stdout: /^nnc count — [\s\S]*--max-params N/ },
  {
    name: "help of a misspelt command",
    argv: ["help", "buidl"],
    exit: 2,
    stdout: "",
    stderr: "error[NN0001]: unknown command `buidl`\n  = help: did you mean `build`?\n",
  },
  { name: "check without files", argv: ["check"], exit: 2, stdout: "", stderr: /^error\[NN0001\]: no input files/ },
  {
    name: "check --format yaml",
    argv: ["check", "--format", "yaml", "clean.nn"],
    exit: 2,
    stderr: /error\[NN0001\]: unknown format `yaml`/,
  },
  { name: "fmt without files", argv: ["fmt"], exit: 2, stderr: /error\[NN0001\]: no input files/ },
  {
    name: "fmt --write --check",
    argv: ["fmt", "--write", "--check", "messy.nn"],
    exit: 2,
    stdout: "",
    stderr: /error\[NN0001\]: --write and --check exclude each other/,
  },
  {
    name: "fmt --write on standard input",
    argv: ["fmt", "--write", "-"],
    stdin: messy,
    exit: 2,
    stdout: "",
    stderr: /error\[NN0001\]/,
  },
  // help and version go to stdout
  { name: "help", argv: ["help"], exit: 0, stdout: /usage:/, stderr: "" },
  { name: "--help", argv: ["--help"], exit: 0, stdout: /usage:/, stderr: "" },
  { name: "--version", argv: ["--version"], exit: 0, stdout: /^\d+\.\d+\.\d+\n$/, stderr: "" },
  // fmt
  { name: "fmt prints the canonical form", argv: ["fmt", "messy.nn"], exit: 0, stdout: canonical, stderr: "" },
  { name: "fmt of standard input", argv: ["fmt", "-"], stdin: messy, exit: 0, stdout: canonical, stderr: "" },
  { name: "fmt --check on canonical input", argv: ["fmt", "--check", "canonical.nn"], exit: 0, stdout: "", stderr: "" },
  {
    name: "fmt --check on non-canonical input",
    argv: ["fmt", "--check", "messy.nn"],
    exit: 1,
    stdout: "",
    stderr: [/^error\[NN0004\]: messy\.nn is not in canonical form/, /= help: run `nnc fmt --write messy\.nn`/],
  },
  {
    name: "fmt --check on both",
    argv: ["fmt", "--check", "canonical.nn", "messy.nn"],
    exit: 1,
    stderr: /messy\.nn is not in canonical form/,
  },
  {
    name: "fmt of a file with a syntax error prints nothing",
    argv: ["fmt", "syntax.nn"],
    exit: 1,
    stdout: "",
    stderr: /^error\[NN1007\]/,
  },
  {
    name: "fmt of a missing file",
    argv: ["fmt", "missing.nn"],
    exit: 1,
    stdout: "",
    stderr: /^error\[NN0002\]: cannot read missing\.nn/,
  },
];

describe("nnc (in-process)", () => {
  it.each(cases)("$name", async ({ argv, stdin, exit, stdout, stderr }) => {
    const r = await run(argv, stdin === undefined ? {} : { stdin });
    expectText(r.stdout, stdout, "stdout");
    expectText(r.stderr, stderr, "stderr");
    expect(r.code, r.stderr).toBe(exit);
    // Never a stack trace, never an internal error, never Node's wording for arguments.
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/ERR_PARSE_ARGS|Unknown option|Option '|argument is ambiguous/);
    expect(r.stderr).not.toMatch(/internal error/);
    // check and fmt --check never write; nothing here passes --write.
    expect(r.written.size).toBe(0);
  });

  it("check --format json: valid JSON on stdout with files and complete diagnostics, nothing on stderr", async () => {
    const r = await run(["check", "--format", "json", "clean.nn", "broken.nn", "syntax.nn"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout) as { files: unknown[]; diagnostics: Record<string, unknown>[] };
    expect(json.files).toEqual([
      { file: "clean.nn", errors: 0, warnings: 0 },
      { file: "broken.nn", errors: 1, warnings: 0 },
      { file: "syntax.nn", errors: 1, warnings: 0 },
    ]);
    expect(json.diagnostics.map((d) => d["code"])).toEqual(["NN2004", "NN1007"]);
    for (const d of json.diagnostics) {
      expect(Object.keys(d)).toEqual(
        expect.arrayContaining(["code", "severity", "message", "span", "labels", "notes"]),
      );
      expect(d["severity"]).toBe("error");
      expect(Array.isArray(d["labels"]) && Array.isArray(d["notes"])).toBe(true);
    }
    expect(json.diagnostics[0]).toMatchObject({
      message: "unknown layer `desne`",
      span: { file: "broken.nn", start: 39, end: 44, line: 3, column: 3, endLine: 3, endColumn: 8 },
      help: "did you mean `dense`?",
    });
  });

  it("check --format json on a clean file: exit 0 and an empty diagnostic list", async () => {
    const r = await run(["check", "--format", "json", "clean.nn"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ files: [{ file: "clean.nn", errors: 0, warnings: 0 }], diagnostics: [] });
  });

  it("fmt --write rewrites only what is not canonical, and never a file that does not parse", async () => {
    const r = await run(["fmt", "--write", "messy.nn", "canonical.nn", "syntax.nn"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect([...r.written]).toEqual([["messy.nn", canonical]]);
    expect(r.stderr).toMatch(/^error\[NN1007\]/);
  });

  it("standard input is decoded as strict UTF-8", async () => {
    const r = await run(["check", "-"], { stdin: new Uint8Array([0x6d, 0xff, 0x0a]) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error\[NN0005\]: cannot read standard input: not valid UTF-8 \(byte 1 is the first bad one\)/,
    );
    // A byte-order mark is not part of the text.
    const bom = await run(["fmt", "-"], {
      stdin: new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(canonical)]),
    });
    expect(bom.code).toBe(0);
    expect(bom.stdout).toBe(canonical);
  });
});

// ── colour ──────────────────────────────────────────────────────────────────────────────────────────────

describe("colour", () => {
  const esc = "\u001b[";
  const table: { name: string; tty: boolean; env: Record<string, string>; color: boolean }[] = [
    { name: "a terminal", tty: true, env: {}, color: true },
    { name: "a pipe", tty: false, env: {}, color: false },
    { name: "a pipe on CI (picocolors would colour this)", tty: false, env: { CI: "1" }, color: false },
    { name: "a pipe with FORCE_COLOR=1", tty: false, env: { FORCE_COLOR: "1" }, color: true },
    { name: "a terminal with FORCE_COLOR=0", tty: true, env: { FORCE_COLOR: "0" }, color: false },
    { name: "a terminal with NO_COLOR=1", tty: true, env: { NO_COLOR: "1" }, color: false },
    { name: "NO_COLOR wins over FORCE_COLOR", tty: true, env: { NO_COLOR: "1", FORCE_COLOR: "1" }, color: false },
    { name: "an empty NO_COLOR is not set", tty: true, env: { NO_COLOR: "" }, color: true },
  ];
  it.each(table)("$name → colour $color", async ({ tty, env, color }) => {
    for (const argv of [["check", "broken.nn"], ["frobnicate"]]) {
      const r = await run(argv, { tty, env });
      expect(r.stderr.includes(esc), `${argv.join(" ")}: ${JSON.stringify(r.stderr)}`).toBe(color);
    }
    // stdout is machine-readable whatever the settings.
    const json = await run(["check", "--format", "json", "broken.nn"], { tty, env });
    expect(json.stdout.includes(esc)).toBe(false);
    JSON.parse(json.stdout);
    const fmt = await run(["fmt", "messy.nn"], { tty, env });
    expect(fmt.stdout.includes(esc)).toBe(false);
  });
});

// ── the real file system ─────────────────────────────────────────────────────────────────────────────

describe("fmt --write on disk", () => {
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-cli-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const diskIo = () => capture();

  it("a file with a syntax error is left byte-identical", async () => {
    const file = path.join(dir, "syntax.nn");
    // CRLF, a tab and trailing spaces: bytes the formatter would change if it wrote anything.
    const bytes = Buffer.from("model M(x: f32[4]) {\r\n\tdense(8 relu   \r\n}\r\n");
    fs.writeFileSync(file, bytes);
    const before = fs.statSync(file);
    const c = diskIo();
    expect(await main(["fmt", "--write", file], c.io)).toBe(1);
    expect(c.err()).toMatch(/^error\[NN1007\]/);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(before.mtimeMs);
    expect(fs.readdirSync(dir)).toEqual(["syntax.nn"]);
  });

  it("a messy file is rewritten in canonical form, keeping its mode, with no temporary file left", async () => {
    const file = path.join(dir, "messy.nn");
    fs.writeFileSync(file, messy);
    fs.chmodSync(file, 0o600);
    const c = diskIo();
    expect(await main(["fmt", "--write", file], c.io)).toBe(0);
    expect(c.err()).toBe("");
    expect(c.out()).toBe("");
    expect(fs.readFileSync(file, "utf8")).toBe(canonical);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(["messy.nn", "syntax.nn"]);
    // And then it is canonical.
    expect(await main(["fmt", "--check", file], diskIo().io)).toBe(0);
  });
});

// ── the real command ────────────────────────────────────────────────────────────────────────────────────

describe("node bin/nnc.js", () => {
  let dir = "";
  beforeAll(() => {
    // `npm test` builds dist/ first (pretest); build it here only when it is missing.
    if (!fs.existsSync("dist/cli/main.js")) {
      const build = spawnSync("npm", ["run", "build"], { encoding: "utf8" });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-bin-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the real command with a piped stderr on "CI" (colour must stay off) and no colour overrides. */
  function nnc(args: string[], input?: string | Uint8Array) {
    const env: Record<string, string | undefined> = { ...process.env, CI: "1" };
    delete env["FORCE_COLOR"];
    delete env["NO_COLOR"];
    const r = spawnSync(process.execPath, ["bin/nnc.js", ...args], { encoding: "utf8", env, input: input ?? "" });
    // Whatever happened: no stack trace, no internal error, no colour in a pipe.
    expect(r.stderr, r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/internal error|Error:/);
    expect(r.stderr + r.stdout).not.toContain("\u001b[");
    return r;
  }

  it("check: 0 for a clean file, 1 with rendered diagnostics for a broken one", () => {
    const ok = nnc(["check", path.join(dir, "clean.nn")]);
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, "", ""]);
    const bad = nnc(["check", path.join(dir, "broken.nn"), path.join(dir, "missing.nn")]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(
      /error\[NN2004\][\s\S]*broken\.nn:3:3[\s\S]*error\[NN0002\][\s\S]*2 errors, 0 warnings\n$/,
    );
  });

  it("usage errors exit 2", () => {
    for (const args of [
      ["frobnicate"],
      ["check"],
      ["check", "--frobnicate", "x.nn"],
      ["fmt", "--write", "--check", "x.nn"],
      [],
    ]) {
      const r = nnc(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
    }
  });

  it("standard input: read as bytes, invalid UTF-8 is NN0005", () => {
    const ok = nnc(["fmt", "-"], messy);
    expect([ok.status, ok.stdout]).toEqual([0, canonical]);
    const bad = nnc(["check", "-"], new Uint8Array([0x6d, 0x6f, 0x64, 0xc3, 0x28, 0x0a]));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /^error\[NN0005\]: cannot read standard input: not valid UTF-8 \(byte 3 is the first bad one\)/,
    );
  });

  it("standard input is read up to the spec size limit: `nnc check - < /dev/zero` ends with NN0002", () => {
    // It used to read until memory ran out (fs.readFileSync(0)).
    const r = spawnSync("sh", ["-c", `"${process.execPath}" bin/nnc.js check - < /dev/zero`], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "error[NN0002]: cannot read standard input: too large: more than 16,777,216 bytes, over the limit of 16 MiB\n1 error, 0 warnings\n",
    );
  });

  it("build --watch: Ctrl-C (SIGINT) ends it with exit 0", async () => {
    const out = path.join(dir, "watch-out");
    const child = spawn(
      process.execPath,
      ["bin/nnc.js", "build", "--watch", path.join(dir, "clean.nn"), "--out", out],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const until = Date.now() + 30_000;
    while (!stderr.includes("Ctrl-C to stop") && Date.now() < until && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toMatch(/^1 file written, 0 unchanged\nwatching 1 file for changes; Ctrl-C to stop\n$/);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(fs.readdirSync(out)).toEqual(["clean.ts"]);
  }, 40_000);

  it("a reader that stops early is not an error (EPIPE used to print a stack trace)", () => {
    const file = path.join(dir, "long.nn");
    fs.writeFileSync(file, `model M(x: f32[4]) {\n${"  dense(4) relu\n".repeat(20_000)}}\n`);
    const r = spawnSync("sh", ["-c", `"${process.execPath}" bin/nnc.js fmt "${file}" | head -c 20`], {
      encoding: "utf8",
    });
    expect(r.stdout).toBe("model M(x: f32[4]) {");
    expect(r.stderr).toBe("");
  });

  it("--format json keeps stdout machine-readable, and --version prints the version", () => {
    const r = nnc(["check", "--format", "json", path.join(dir, "syntax.nn")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("");
    expect((JSON.parse(r.stdout) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code)).toEqual([
      "NN1007",
    ]);
    const v = nnc(["--version"]);
    expect([v.status, v.stdout]).toEqual([0, expect.stringMatching(/^\d+\.\d+\.\d+\n$/)]);
  });

  it("check, count and fmt load no code generator (prettier, ts-morph, typescript, zod) and no language server", () => {
    // Every ES module the process resolves is recorded; `nnc build` and `nnc lsp` are the controls that the
    // recorder works.
    const loaded = (args: string[], status: number | null = 0): string[] => {
      const log = path.join(dir, `imports-${args[0]}.log`);
      fs.rmSync(log, { force: true });
      const r = spawnSync(process.execPath, ["--import", "./test/helpers/record-imports.mjs", "bin/nnc.js", ...args], {
        encoding: "utf8",
        input: "",
        env: { ...process.env, NNC_IMPORT_LOG: log },
      });
      if (status !== null) expect(r.status, r.stderr).toBe(status);
      return fs.readFileSync(log, "utf8").trim().split("\n");
    };
    const heavy = /\/node_modules\/(prettier|ts-morph|typescript|zod|vscode-languageserver[^/]*|vscode-jsonrpc)\//;
    for (const command of ["check", "count", "fmt"]) {
      const urls = loaded([command, "examples/mnist-mlp.nn"]);
      expect(
        urls.some((u) => u.endsWith("/dist/cli/main.js")),
        urls.join("\n"),
      ).toBe(true);
      expect(
        urls.filter((u) => heavy.test(u)),
        command,
      ).toEqual([]);
    }
    const build = loaded(["build", "examples/mnist-mlp.nn", "--out", path.join(dir, "out")]);
    for (const name of ["prettier", "ts-morph", "zod"])
      expect(
        build.some((u) => u.includes(`/node_modules/${name}/`)),
        name,
      ).toBe(true);
    // `nnc lsp` with standard input closed at once: the server starts, then ends with the stream.
    const lsp = loaded(["lsp"], null);
    expect(
      lsp.some((u) => u.includes("/node_modules/vscode-languageserver/")),
      "lsp",
    ).toBe(true);
  });
});
