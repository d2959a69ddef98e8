// The file system as nnc's stages see it: strict UTF-8 reading of regular files under a size cap, confinement
// to a root directory, and the three ways nnc writes (fmt --write, nnc build, the plugin's declarations).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Host, ReadResult } from "./host.js";

/** Largest spec file nnc reads, in bytes (16 MiB): far above what the parser accepts (250,000 tokens; a
 *  file of 16 MiB of comments is the only kind that gets this far), far below a V8 string's length limit
 *  (2^29 − 24 UTF-16 units on Node 20). Also the limit of standard input. */
export const maxSpecBytes = 16 * 1024 * 1024;

/** Largest `--bake-weights` JSON file nnc reads, in bytes (256 MiB; about 20 million float32 values written
 *  as JSON — half a V8 string's length limit). */
export const maxWeightsBytes = 256 * 1024 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Offset of the first byte that is not part of valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let n = 0;
    if (b < 0x80) n = 0;
    else if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) n = 2;
    else if (b >= 0xf0 && b <= 0xf4) n = 3;
    else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    // Overlong, surrogate and out-of-range forms.
    const c1 = bytes[i + 1] ?? 0;
    if (
      (b === 0xe0 && c1 < 0xa0) ||
      (b === 0xed && c1 > 0x9f) ||
      (b === 0xf0 && c1 < 0x90) ||
      (b === 0xf4 && c1 > 0x8f)
    ) {
      return i;
    }
    i += n + 1;
  }
  return -1;
}

export function decodeUtf8(bytes: Uint8Array): ReadResult {
  try {
    let text = decoder.decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { ok: true, text };
  } catch {
    return {
      ok: false,
      reason: `not valid UTF-8 (byte ${firstInvalidUtf8(bytes)} is the first bad one)`,
      invalidUtf8: true,
    };
  }
}

const mib = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes.toLocaleString("en-US")} bytes`;

/** "too large: …" for a file of `size` bytes (at least, when `atLeast`) over `limit`. */
function tooLarge(size: number, limit: number, atLeast: boolean): string {
  return `too large: ${atLeast ? "more than " : ""}${size.toLocaleString("en-US")} bytes, over the limit of ${mib(limit)}`;
}

/** What a file that is not a regular file is, for "not a regular file (…)". */
function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return "it is a directory";
  if (stat.isFIFO()) return "not a regular file (a named pipe)";
  if (stat.isCharacterDevice()) return "not a regular file (a character device)";
  if (stat.isBlockDevice()) return "not a regular file (a block device)";
  if (stat.isSocket()) return "not a regular file (a socket)";
  return "not a regular file";
}

function errnoReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return "no such file";
    case "EISDIR":
      return "it is a directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a path component is not a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "ENAMETOOLONG":
      return "the name is too long";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "no space left on the device";
    case "EEXIST":
      return "it already exists";
    default:
      return e.code ?? String(error);
  }
}

/** The reason of a failed file operation in nnc's words (`permission denied`, not `EACCES: …`). */
export const fileErrorReason = errnoReason;

/**
 * Reads `file` as bytes: only a regular file (a directory, a named pipe, a device or a socket is refused
 * without reading: opening is non-blocking, so a pipe without a writer cannot hang), and only up to
 * `limit` bytes: the size is checked before reading, and at most `limit + 1` bytes are read (a file that
 * grows meanwhile is still refused).
 */
export function readRegularFile(
  file: string,
  limit: number,
): { ok: true; bytes: Uint8Array } | { ok: false; reason: string; exists?: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // No such file (or a path through a non-directory, or a name too long to name one): missing. Anything
    // else (permission denied, a loop of links, …) is a file that exists but cannot be read.
    const missing = code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG";
    return { ok: false, reason: errnoReason(error), ...(missing ? {} : { exists: true }) };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { ok: false, reason: kindOf(stat), exists: true };
    if (stat.size > limit) return { ok: false, reason: tooLarge(stat.size, limit, false), exists: true };
    // One byte more than the size: the end of the file is seen without a second buffer. A file that grows
    // meanwhile is read on in larger buffers, never past limit + 1 bytes.
    let buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.alloc(Math.min(buffer.length * 2, limit + 1));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) return { ok: true, bytes: buffer.subarray(0, length) };
      length += n;
      if (length > limit) return { ok: false, reason: tooLarge(limit, limit, true), exists: true };
    }
  } catch (error) {
    return { ok: false, reason: errnoReason(error), exists: true };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads all of a file descriptor (standard input: a pipe, a terminal or a file), at most `limit` bytes;
 *  throws an Error whose message is the reason (too large, or the read failed). */
export function readAllBounded(fd: number, limit: number = maxSpecBytes): Uint8Array {
  const chunks: Buffer[] = [];
  let length = 0;
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A non-blocking pipe with nothing in it yet: wait for it (readFileSync(0) would fail the same way).
      if (code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (code === "EOF") break;
      throw new Error(errnoReason(error));
    }
    if (n === 0) break;
    length += n;
    if (length > limit) throw new Error(tooLarge(limit, limit, true));
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, length);
}

/** Reads a spec through `readRegularFile` (at most `maxSpecBytes`), decoded as strict UTF-8. */
function readSpec(file: string): ReadResult {
  const read = readRegularFile(file, maxSpecBytes);
  return read.ok ? decodeUtf8(read.bytes) : read;
}

export const nodeHost: Host = {
  readFile: readSpec,
  realpath(file: string): string | undefined {
    try {
      return fs.realpathSync(file);
    } catch {
      return undefined;
    }
  },
};

/** Reads a text file of at most `limit` bytes (a regular file, strict UTF-8): `--bake-weights`. */
export function readTextFile(file: string, limit: number): ReadResult {
  const read = readRegularFile(file, limit);
  return read.ok ? decodeUtf8(read.bytes) : read;
}

/** Why `dir` cannot serve as a directory (`--root`), or `undefined` when it can. */
export function directoryProblem(dir: string): string | undefined {
  try {
    return fs.statSync(dir).isDirectory() ? undefined : "not a directory";
  } catch (error) {
    return errnoReason(error);
  }
}

/** Whether `file` lies inside `dir` (both made absolute against the working directory; `dir` itself counts). */
export function isInside(file: string, dir: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(file));
  return relative === "" || (!relative.startsWith(`..${path.sep}`) && relative !== ".." && !path.isAbsolute(relative));
}

/**
 * A host that reads only files inside `root` (`--root DIR`): a file outside it is refused (`outsideRoot`)
 * without being read. Checked on the name (`..` and absolute paths), then, when the host can resolve
 * symbolic links, on the real path of the file and of the root, so a link inside the root that points
 * outside it does not escape.
 */
export function confinedHost(inner: Host, root: string): Host {
  const realRoot = inner.realpath?.(root) ?? path.resolve(root);
  const refuse = (): ReadResult => ({ ok: false, reason: `outside the root directory ${root}`, outsideRoot: true });
  return {
    readFile(file: string): ReadResult {
      if (!isInside(file, root)) return refuse();
      const real = inner.realpath?.(file);
      if (real !== undefined && !isInside(real, realRoot)) return refuse();
      return inner.readFile(file);
    },
    ...(inner.realpath ? { realpath: (file: string) => inner.realpath!(file) } : {}),
  };
}

/** The text of `file`, or `undefined` when it cannot be read: what write-if-changed compares with
 *  (`nnc build`, the plugin's declarations), so an unchanged output keeps its mtime. */
export function readExisting(file: string): string | undefined {
  const read = readRegularFile(file, maxWeightsBytes);
  if (!read.ok) return undefined;
  const decoded = decodeUtf8(read.bytes);
  return decoded.ok ? decoded.text : undefined;
}

/** A name no one can predict: `.<base>.<96 random bits>.tmp`, in `dir`. */
function temporaryName(dir: string, base: string): string {
  return path.join(dir, `.${base}.${crypto.randomBytes(12).toString("hex")}.tmp`);
}

/** Creates a new file exclusively (`wx`: it must not exist, not even as a symbolic link, which is never
 *  followed) with an unpredictable name in `dir`; returns its name and descriptor. */
function createTemporary(dir: string, base: string, mode: number): { name: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const name = temporaryName(dir, base);
    try {
      return { name, fd: fs.openSync(name, "wx", mode) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 5) throw error;
    }
  }
}

function writeAllTo(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let at = 0;
  while (at < bytes.length) at += fs.writeSync(fd, bytes, at, bytes.length - at, at);
}

/** Writes `text` to `file` atomically: a new temporary file in the same directory (unpredictable name,
 *  created exclusively), synced, given the old file's mode, then renamed over it. */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(file);
  let mode = 0o644;
  try {
    mode = fs.statSync(file).mode & 0o7777;
  } catch {
    // a new file: the default mode (less the umask)
  }
  const tmp = createTemporary(dir, path.basename(file), 0o600);
  try {
    try {
      writeAllTo(tmp.fd, text);
      fs.fchmodSync(tmp.fd, mode);
      fs.fsyncSync(tmp.fd);
    } finally {
      fs.closeSync(tmp.fd);
    }
    fs.renameSync(tmp.name, file);
  } catch (error) {
    fs.rmSync(tmp.name, { force: true });
    throw error;
  }
}

/** A write refused or failed, with its reason in nnc's words; `readOnly` when the file is read-only. */
export class WriteError extends Error {
  constructor(
    message: string,
    readonly readOnly = false,
  ) {
    super(message);
  }
}

/**
 * `nnc fmt --write`: replaces the content of an existing file, keeping everything else about it.
 * - A symbolic link is followed: its target is rewritten and the link stays a link.
 * - A read-only file (no write permission for this process, or no write bit at all — root included) is
 *   refused: a `WriteError` with `readOnly`.
 * - Usually atomic: a temporary file beside the target (unpredictable name, created exclusively, never
 *   through a symbolic link) with the target's mode and owner, synced, renamed over it.
 * - In place instead — the content rewritten through the existing inode, as prettier and rustfmt always
 *   do — when a rename would lose something: the file has other hard links (they would keep the old
 *   text), its owner or group cannot be given to a new file by this process, or its directory cannot be
 *   written. That write is not atomic, but the whole new text is in memory and written at once.
 * Returns how it was written.
 */
export function rewriteFile(file: string, text: string): "renamed" | "in place" {
  let target: string;
  try {
    target = fs.realpathSync(file);
  } catch (error) {
    throw new WriteError(errnoReason(error));
  }
  const stat = fs.statSync(target);
  if (!stat.isFile()) throw new WriteError(kindOf(stat));
  let writable = (stat.mode & 0o222) !== 0;
  if (writable) {
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch {
      writable = false;
    }
  }
  if (!writable) throw new WriteError("it is read-only", true);
  if (stat.nlink === 1) {
    let tmp: { name: string; fd: number } | undefined;
    try {
      tmp = createTemporary(path.dirname(target), path.basename(target), 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw new WriteError(errnoReason(error));
    }
    if (tmp) {
      let owned = true;
      try {
        try {
          writeAllTo(tmp.fd, text);
          try {
            if (stat.uid !== process.getuid?.() || stat.gid !== process.getgid?.())
              fs.fchownSync(tmp.fd, stat.uid, stat.gid);
          } catch {
            owned = false;
          }
          fs.fchmodSync(tmp.fd, stat.mode & 0o7777);
          fs.fsyncSync(tmp.fd);
        } finally {
          fs.closeSync(tmp.fd);
        }
        if (owned) {
          fs.renameSync(tmp.name, target);
          return "renamed";
        }
      } catch (error) {
        fs.rmSync(tmp.name, { force: true });
        throw new WriteError(errnoReason(error));
      }
      fs.rmSync(tmp.name, { force: true });
    }
  }
  try {
    const fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
    try {
      writeAllTo(fd, text);
      fs.ftruncateSync(fd, Buffer.byteLength(text, "utf8"));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw new WriteError(errnoReason(error));
  }
  return "in place";
}

/** Creates `dir` and its missing ancestors, one `mkdir` each, recording the first one created in `created`.
 *  Not `mkdirSync(…, { recursive: true })`: on Node 20 that never returns for a path under /proc. */
function makeDirectories(dir: string, created: string[]): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      const stat = fs.statSync(at);
      if (!stat.isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    missing.push(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const d of missing.reverse()) {
    fs.mkdirSync(d);
    if (created.length === 0 || !isInside(d, created[created.length - 1]!)) created.push(d);
  }
}

/**
 * `nnc build`: writes every file or none. The directories of the outputs are created; each file is
 * written into a staging directory made beside the outputs (`mkdtemp`: an unpredictable name, mode 0700),
 * synced, and only then moved into place one by one, each existing output first kept as a hard link in
 * the staging directory. When anything fails, the outputs already moved are put back as they were (or
 * removed when they were new), the directories created are removed, and a `WriteError` says why.
 */
export function writeFilesAllOrNothing(
  files: readonly { file: string; text: string }[],
  /** How a staged file is moved into place (`fs.renameSync`; tests make it fail). */
  rename: (from: string, to: string) => void = fs.renameSync,
): void {
  if (files.length === 0) return;
  const created: string[] = [];
  const stages = new Map<string, string>();
  const moved: { file: string; backup: string | undefined }[] = [];
  const fail = (what: string, error: unknown): never => {
    throw new WriteError(`cannot ${what}: ${errnoReason(error)}`);
  };
  try {
    // Checks first: an output that exists must be a regular file (or a link to one), and be writable.
    for (const { file } of files) {
      let stat: fs.Stats | undefined;
      try {
        stat = fs.statSync(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A missing directory is created below; one that is not a directory is reported there.
        if (code !== "ENOENT" && code !== "ENOTDIR") fail(`write ${file}`, error);
      }
      if (stat && !stat.isFile()) throw new WriteError(`cannot write ${file}: ${kindOf(stat)}`);
    }
    for (const dir of new Set(files.map((f) => path.dirname(f.file)))) {
      let stat: fs.Stats | undefined;
      try {
        stat = fs.statSync(dir);
      } catch {
        // missing: created below
      }
      if (stat && !stat.isDirectory()) throw new WriteError(`cannot write into ${dir}: it is a file, not a directory`);
      if (!stat) {
        try {
          makeDirectories(dir, created);
        } catch (error) {
          fail(`create ${dir}`, error);
        }
      }
      try {
        stages.set(dir, fs.mkdtempSync(path.join(dir, ".nnc-build-")));
      } catch (error) {
        fail(`write into ${dir}`, error);
      }
    }
    const staged = files.map(({ file, text }, i) => {
      const stage = stages.get(path.dirname(file))!;
      const name = path.join(stage, `${i}-${path.basename(file)}`);
      try {
        const fd = fs.openSync(name, "wx", 0o644);
        try {
          writeAllTo(fd, text);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      } catch (error) {
        fail(`write ${file}`, error);
      }
      return { file, name, stage, i };
    });
    for (const s of staged) {
      let backup: string | undefined = path.join(s.stage, `${s.i}-old`);
      try {
        // The new file takes the old one's mode, as an in-place write would have kept it.
        fs.chmodSync(s.name, fs.statSync(s.file).mode & 0o7777);
        try {
          fs.linkSync(s.file, backup);
        } catch (error) {
          // A file system without hard links: a copy keeps the old text for a rollback.
          if ((error as NodeJS.ErrnoException).code === "ENOENT") throw error;
          fs.copyFileSync(s.file, backup);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") fail(`write ${s.file}`, error);
        backup = undefined;
      }
      try {
        rename(s.name, s.file);
      } catch (error) {
        fail(`write ${s.file}`, error);
      }
      moved.push({ file: s.file, backup });
    }
  } catch (error) {
    // Put back what was moved, newest first.
    for (const m of moved.reverse()) {
      try {
        if (m.backup !== undefined) fs.renameSync(m.backup, m.file);
        else fs.rmSync(m.file, { force: true });
      } catch {
        // nothing more can be done; the error below is reported
      }
    }
    for (const stage of stages.values()) fs.rmSync(stage, { recursive: true, force: true });
    for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
    throw error instanceof WriteError ? error : new WriteError(errnoReason(error));
  }
  for (const stage of stages.values()) fs.rmSync(stage, { recursive: true, force: true });
}
