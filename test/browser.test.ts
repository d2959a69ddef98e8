// A generated module in a real browser: examples/xor.nn imported through the bundler plugin into a page
// script (bundled by esbuild), served from localhost and run in headless Chromium (playwright-core, the
// system's browser): it trains and the loss falls. Skipped only when no Chromium is installed
// (`CHROMIUM_PATH`, else /usr/bin/chromium; CI installs Debian's `chromium`).
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "./helpers/bundle.js";

const browserPath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const steps = 300;

/** The page script: Adam on the four XOR samples, every step's loss reported to the test. */
const page = `import * as xor from "./xor.nn";
const x = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]);
const t = [0, 1, 1, 0];
const trainer = xor.createTrainer({ optimizer: "adam", lr: 0.05, seed: 7 });
const losses = [];
for (let i = 0; i < ${steps}; i++) losses.push(xor.trainStep(trainer, x, t, 4));
const y = Array.from(xor.forward(trainer.params, x, 4));
window.nncResult = { losses, y, userAgent: navigator.userAgent };
`;

describe.skipIf(!fs.existsSync(browserPath))("a generated module in headless Chromium", () => {
  let dir: string;
  let server: http.Server;
  let origin: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-browser-"));
    fs.copyFileSync(path.resolve("examples/xor.nn"), path.join(dir, "xor.nn"));
    fs.writeFileSync(path.join(dir, "page.js"), page);
    const built = await build("esbuild", path.join(dir, "page.js"), path.join(dir, "site"), { declarations: false });
    if (!built.ok) throw new Error(built.text);
    const files: Record<string, [string, string]> = {
      "/": [
        "text/html",
        '<!doctype html><meta charset="utf-8"><title>nnc</title><script type="module" src="/bundle.mjs"></script>\n',
      ],
      "/bundle.mjs": ["text/javascript", fs.readFileSync(built.file, "utf8")],
    };
    server = http.createServer((request, response) => {
      const file = files[request.url ?? ""];
      response.writeHead(file ? 200 : 404, { "content-type": file ? file[0] : "text/plain" });
      response.end(file ? file[1] : "not found");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("trains XOR in the page: every loss finite, the loss falls", async () => {
    const browser = await chromium.launch({
      executablePath: browserPath,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      timeout: 30_000,
    });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (error) => errors.push(error.message));
      await tab.goto(origin + "/");
      await tab.waitForFunction(() => "nncResult" in globalThis, undefined, { timeout: 20_000 });
      const result = (await tab.evaluate(() => (globalThis as unknown as { nncResult: unknown }).nncResult)) as {
        losses: number[];
        y: number[];
        userAgent: string;
      };
      expect(errors).toEqual([]);
      expect(result.userAgent).toMatch(/HeadlessChrome|Chrome/);
      expect(result.losses).toHaveLength(steps);
      expect(result.losses.every(Number.isFinite)).toBe(true);
      const first = result.losses[0]!;
      const last = result.losses[steps - 1]!;
      expect(last).toBeLessThan(first * 0.5);
      // Seeded, so deterministic: it has learned XOR.
      expect(result.y.map((v) => (v > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
    } finally {
      await browser.close();
    }
  });
});
