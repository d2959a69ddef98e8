// How the checker reads files: through a `Host`, so tests, stdin, editors and bundlers need no file system.
// Kept apart from load.ts (which imports the parser) so that the public declarations stay small.

export type ReadResult =
  | { ok: true; text: string }
  /** `invalidUtf8`: the file was read but is not valid UTF-8 (NN0005 rather than "cannot read").
   *  `outsideRoot`: the file lies outside the directory reads are confined to (`--root`; NN6006).
   *  `exists`: the file exists but cannot be read (not a regular file, too large, no permission): an
   *  import of it is NN6007; without `exists`, an import that cannot be read is a missing file, NN6001. */
  | { ok: false; reason: string; invalidUtf8?: boolean; outsideRoot?: boolean; exists?: boolean };

export interface Host {
  /** Reads a file as UTF-8 text; invalid UTF-8 is a failure with a reason. */
  readFile(file: string): ReadResult;
  /** The file's canonical absolute path with symbolic links resolved, `undefined` when it does not exist
   *  (optional: used to keep `--root` confinement from escaping through links). */
  realpath?(file: string): string | undefined;
}
