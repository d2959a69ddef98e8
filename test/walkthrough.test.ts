// The README's walkthrough, as a user runs it: check, count and build examples/walkthrough/circle.nn with
// the `nnc` command (`--emit js`), then train.mjs trains, evaluates, saves and loads. The transcript the
// README shows must be what the script prints (it is seeded, so every run prints the same).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "..");
let dir = "";

function nnc(...args: string[]) {
  return spawnSync(process.execPath, [path.join(repo, "bin/nnc.js"), ...args], { cwd: dir, encoding: "utf8" });
}

beforeAll(() => {
  if (!fs.existsSync(path.join(repo, "dist/cli/main.js")))
    spawnSync("npm", ["run", "build"], { cwd: repo, stdio: "ignore" });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-walkthrough-"));
  for (const f of ["circle.nn", "train.mjs"])
    fs.copyFileSync(path.join(repo, "examples/walkthrough", f), path.join(dir, f));
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("README walkthrough", () => {
  it("checks, counts 1,218 parameters, builds JS, trains, evaluates, saves and loads", () => {
    expect(nnc("check", "circle.nn").status).toBe(0);
    const counted = nnc("count", "circle.nn");
    expect(counted.status).toBe(0);
    // 2·32 + 32 + 32·32 + 32 + 32·2 + 2 = 1,218 (arithmetic).
    expect(counted.stdout).toMatch(/total parameters\s+1,218\n/);
    const built = nnc("build", "circle.nn", "--emit", "js", "--out", "models");
    expect(built.status, built.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dir, "models")).sort()).toEqual(["circle.d.ts", "circle.js"]);

    const run = spawnSync(process.execPath, ["train.mjs"], { cwd: dir, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    const loss = (step: number) => Number(lines.find((l) => l.startsWith(`step ${step}:`))!.split("loss ")[1]);
    expect(loss(600)).toBeLessThan(loss(1) / 4);
    const accuracies = lines.filter((l) => l.includes("accuracy")).map((l) => Number(l.split("accuracy ")[1]));
    expect(accuracies).toHaveLength(2);
    expect(accuracies[0]).toBeGreaterThanOrEqual(0.95);
    expect(accuracies[1]).toBe(accuracies[0]); // the loaded parameters are the trained ones
    // safetensors: 8 bytes of header length N, N bytes of header, then 1,218 float32 values.
    const file = fs.readFileSync(path.join(dir, "circle.safetensors"));
    const n = Number(file.readBigUInt64LE(0));
    expect(file.length - 8 - n).toBe(1218 * 4);
    expect(Object.keys(JSON.parse(file.subarray(8, 8 + n).toString("utf8")) as object)).toHaveLength(7); // 6 + metadata

    // The README's transcript: every line it shows (its "…" stands for lines left out) is printed, in order.
    const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8");
    const transcript = /```\n\$ node train\.mjs\n([\s\S]*?)```/.exec(readme);
    expect(transcript).not.toBeNull();
    const shown = transcript![1]!
      .trim()
      .split("\n")
      .filter((l) => l !== "…");
    let at = -1;
    for (const line of shown) {
      const next = lines.indexOf(line, at + 1);
      expect(next, `README shows "${line}", train.mjs does not print it (in order)`).toBeGreaterThan(at);
      at = next;
    }
  });
});
