#!/usr/bin/env node
// The nnc command. The compiled CLI lives in dist/ (`npm run build`; `npm test` builds first).
import fs from "node:fs";
import { main } from "../dist/src/cli/main.js";

const code = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: () => fs.readFileSync(0, "utf8"),
  stderrIsTty: Boolean(process.stderr.isTTY),
  env: process.env,
});
process.exitCode = code;
