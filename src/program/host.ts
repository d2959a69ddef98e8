// How the checker reads files: through a `Host`, so tests, stdin, editors and bundlers need no file system.
// Kept apart from load.ts (which imports the parser) so that the public declarations stay small.

export type ReadResult =
  | { ok: true; text: string }
  /** `invalidUtf8`: the file was read but is not valid UTF-8 (NN0005 rather than "cannot read"). */
  | { ok: false; reason: string; invalidUtf8?: boolean };

export interface Host {
  /** Reads a file as UTF-8 text; invalid UTF-8 is a failure with a reason. */
  readFile(file: string): ReadResult;
}
