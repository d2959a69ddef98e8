// The command line's I/O for tests: `main(argv, io)` with stdout and stderr captured, no stdin, no colour.
import type { Io } from "../../src/cli/main.js";

export interface Captured {
  readonly io: Io;
  readonly out: () => string;
  readonly err: () => string;
}

export function capture(extra: Partial<Io> = {}): Captured {
  let out = "";
  let err = "";
  const io: Io = {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: () => new Uint8Array(),
    stderrIsTty: false,
    env: {},
    ...extra,
  };
  return { io, out: () => out, err: () => err };
}
