// A safetensors checkpoint on disk, read in pieces: the first 8 bytes, the header, then one tensor (or a
// 16 MiB piece of one) at a time, so that checking a multi-gigabyte checkpoint never holds it in memory.
// Or one already in memory (the API's `Uint8Array`).
import fs from "node:fs";
import { headerLength, parseHeader, type SafetensorsHeader, type SafetensorsProblem } from "../weights/safetensors.js";

export interface WeightFile {
  readonly header: SafetensorsHeader;
  /** Bytes `begin`–`end` of the file (checked to lie inside it); `undefined` when reading fails. */
  readonly readBytes: (begin: number, end: number) => Uint8Array | undefined;
  readonly close: () => void;
}

export type OpenedWeightFile =
  | { readonly ok: true; readonly file: WeightFile }
  | { readonly ok: false; readonly unreadable?: string; readonly problem?: SafetensorsProblem };

/** Opens and checks a safetensors file (a path, or its bytes). Never throws. */
export function openWeightFile(source: string | Uint8Array): OpenedWeightFile {
  if (typeof source !== "string") {
    const n = headerLength(source.subarray(0, 8), source.length);
    if (!n.ok) return { ok: false, problem: n.problem };
    const header = parseHeader(source.subarray(8, 8 + n.value), source.length);
    if (!header.ok) return { ok: false, problem: header.problem };
    return { ok: true, file: { header: header.value, readBytes: (b, e) => source.subarray(b, e), close: () => {} } };
  }
  let fd: number;
  try {
    fd = fs.openSync(source, "r");
  } catch (error) {
    return { ok: false, unreadable: reason(error) };
  }
  const close = () => {
    try {
      fs.closeSync(fd);
    } catch {
      // Already closed: nothing to do.
    }
  };
  const read = (begin: number, end: number): Uint8Array | undefined => {
    const out = new Uint8Array(end - begin);
    try {
      let at = 0;
      while (at < out.length) {
        const n = fs.readSync(fd, out, at, out.length - at, begin + at);
        if (n === 0) return undefined; // the file shrank while it was read
        at += n;
      }
    } catch {
      return undefined;
    }
    return out;
  };
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      close();
      return { ok: false, unreadable: "not a file" };
    }
    const size = stat.size;
    const first = read(0, Math.min(8, size));
    if (!first) {
      close();
      return { ok: false, unreadable: "reading failed" };
    }
    const n = headerLength(first, size);
    if (!n.ok) {
      close();
      return { ok: false, problem: n.problem };
    }
    const headerBytes = read(8, 8 + n.value);
    if (!headerBytes) {
      close();
      return { ok: false, unreadable: "reading failed" };
    }
    const header = parseHeader(headerBytes, size);
    if (!header.ok) {
      close();
      return { ok: false, problem: header.problem };
    }
    const readBytes = (begin: number, end: number) =>
      begin >= 0 && begin <= end && end <= size ? read(begin, end) : undefined;
    return { ok: true, file: { header: header.value, readBytes, close } };
  } catch (error) {
    close();
    return { ok: false, unreadable: reason(error) };
  }
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === "ENOENT") return "no such file";
  if (e.code === "EACCES" || e.code === "EPERM") return "permission denied";
  if (e.code === "EISDIR") return "a directory, not a file";
  return e.message;
}
