#!/usr/bin/env node
// The nnc command. The compiled, bundled CLI lives in dist/cli/ (`npm run build`, scripts/bundle-cli.mjs;
// `npm test` builds first).
import { main, readStandardInput } from "../dist/cli/main.js";

// A reader that stops early (`nnc fmt x.nn | head -1`) is not an error.
process.stdout.on("error", (error) => {
  if (error.code !== "EPIPE") process.stderr.write(`error: cannot write to standard output: ${error.message}\n`);
  process.exit(error.code === "EPIPE" ? (process.exitCode ?? 0) : 1);
});

let code;
try {
  code = await main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    // Bytes, not text: main decodes them as strict UTF-8 (a lossy decoding would hide bad bytes). At most
    // the spec size limit is read, so `nnc check - < /dev/zero` ends.
    readStdin: readStandardInput,
    stderrIsTty: Boolean(process.stderr.isTTY),
    env: process.env,
    // Only `nnc build --watch` asks: Ctrl-C (or SIGTERM) then ends watching with exit 0. A second Ctrl-C
    // during a build finds no handler and kills the process.
    // Only `nnc lsp` asks: the language server's JSON-RPC streams.
    lspStreams: () => ({ input: process.stdin, output: process.stdout }),
    interrupt: () => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      return controller.signal;
    },
  });
} catch (error) {
  // A bug in nnc, never the user's input: one line, no stack trace unless asked for.
  process.stderr.write(`error: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write("  = note: this is a bug in nnc; run with NNC_DEBUG=1 to see where it happened\n");
  if (process.env.NNC_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : ""}\n`);
  code = 1;
}
process.exitCode = code;
