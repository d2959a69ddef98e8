// The file system as nnc's stages see it: strict UTF-8 reading and atomic writing.
import fs from "node:fs";
import path from "node:path";
import type { Host, ReadResult } from "./host.js";

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
    if ((b === 0xe0 && c1 < 0xa0) || (b === 0xed && c1 > 0x9f) || (b === 0xf0 && c1 < 0x90) || (b === 0xf4 && c1 > 0x8f)) {
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
    return { ok: false, reason: `not valid UTF-8 (byte ${firstInvalidUtf8(bytes)} is the first bad one)`, invalidUtf8: true };
  }
}

export const nodeHost: Host = {
  readFile(file: string): ReadResult {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        ok: false,
        reason: code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : String(code ?? error),
      };
    }
    return decodeUtf8(bytes);
  },
};

/** The text of `file`, or `undefined` when it cannot be read: what write-if-changed compares with
 *  (`nnc build`, the plugin's declarations), so an unchanged output keeps its mtime. */
export function readExisting(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Writes `text` to `file` atomically: a temporary file in the same directory, then a rename. */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = fs.openSync(tmp, "w", 0o644);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      const mode = fs.statSync(file).mode & 0o7777;
      fs.chmodSync(tmp, mode);
    } catch {
      // a new file keeps the default mode
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to clean
    }
    throw error;
  }
}
