// safetensors, read and written with no dependency: Uint8Array and DataView only — no Node API, no
// TextDecoder (not in the ES2022 library generated modules are checked against), no import — so that this
// file can be copied as it is into generated modules (it is clean under their strictest settings, tested).
//
// The format (huggingface/safetensors, README "Format", and the reference implementation
// safetensors/src/tensor.rs): 8 bytes N, an unsigned little-endian 64-bit integer; N bytes of UTF-8 JSON
// starting with `{` and possibly padded with spaces; then the data. The JSON maps each tensor name to
// `{"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}`, offsets in bytes relative to the start of
// the data, END exclusive; an optional `__metadata__` maps strings to strings. The data is little-endian,
// row-major, and "entirely indexed": the tensors, sorted by offset, cover it with no hole and no overlap, and
// the last one ends at the end of the file. The reference refuses a header over 100,000,000 bytes
// (`MAX_HEADER_SIZE`).
//
// Every number of a file is checked before it is used (header length against the file and the cap, each
// range against the data, each range's length against its dtype and shape in exact integers, the ranges
// against each other); a file that fails a check gives an error that names the tensor, never an exception
// or a read out of bounds. Duplicate names are refused (JSON.parse would keep the last silently): the
// header goes through the small strict JSON reader below, with a nesting cap.

/** Every dtype of the reference implementation, with its size in bytes. */
export const dtypeSizes = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type Dtype = keyof typeof dtypeSizes;

/** The dtypes read as floating-point numbers (converted exactly to float32 or float64). */
export type FloatDtype = "F32" | "F64" | "F16" | "BF16";

/** The reference implementation's cap on the header's length, in bytes. */
export const maxHeaderBytes = 100_000_000;

/** Deepest JSON nesting accepted in a header (the format needs 3: the header, an entry, its arrays). */
const maxJsonDepth = 64;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: Dtype;
  /** Each dimension a safe integer ≥ 0; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Byte range in the data section (after the header), `end` exclusive. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** The tensors, sorted by offset (the order of the data). */
  readonly entries: readonly SafetensorsEntry[];
  /** `__metadata__`, when the file has one. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Where the data starts in the file: 8 + the header's length. */
  readonly dataStart: number;
  readonly fileLength: number;
}

export interface SafetensorsFile extends SafetensorsHeader {
  readonly bytes: Uint8Array;
}

/** What is wrong with a file: a message (lowercase, no final period) and the tensor it concerns, if any. */
export interface SafetensorsProblem {
  readonly message: string;
  readonly tensor?: string;
}

export type Outcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: SafetensorsProblem };

const fail = (message: string, tensor?: string): { ok: false; problem: SafetensorsProblem } => ({
  ok: false,
  problem: tensor === undefined ? { message } : { message, tensor },
});

/** A name as shown in messages: in backticks, control characters escaped. */
export function shownName(name: string): string {
  let plain = true;
  for (let i = 0; i < name.length && plain; i++) {
    const c = name.charCodeAt(i);
    plain = c >= 0x20 && c !== 0x7f && c !== 0x60;
  }
  const clean = plain ? name : JSON.stringify(name).slice(1, -1);
  return `\`${clean.length > 200 ? `${clean.slice(0, 200)}…` : clean}\``;
}

/** The header's length N from the file's first 8 bytes, checked against the cap and the file's length. */
export function headerLength(first8: Uint8Array, fileLength: number): Outcome<number> {
  if (fileLength < 8 || first8.length < 8)
    return fail(`the file has ${fileLength} bytes, fewer than the 8 of the header's length`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) return fail(`the header's length is ${n} bytes, over the limit of ${maxHeaderBytes}`);
  const length = Number(n);
  if (8 + length > fileLength)
    return fail(`the header's length is ${length} bytes, but the file has only ${fileLength - 8} after the length`);
  return { ok: true, value: length };
}

/** Reads and checks the header: `header` is the N bytes after the first 8, `fileLength` the whole file's. */
export function parseHeader(header: Uint8Array, fileLength: number): Outcome<SafetensorsHeader> {
  const text = decodeUtf8(header);
  if (text === undefined) return fail("the header is not valid UTF-8");
  if (text[0] !== "{") return fail("the header does not start with `{`");
  const json = parseJson(text);
  if (!json.ok) return json;
  const top = json.value;
  if (!(top instanceof Map)) return fail("the header is not a JSON object");
  const dataStart = 8 + header.length;
  const dataLength = fileLength - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, value] of top) {
    if (name === "__metadata__") {
      if (!(value instanceof Map)) return fail("`__metadata__` is not an object of strings");
      const m: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [k, v] of value) {
        if (typeof v !== "string") return fail(`\`__metadata__\` entry ${shownName(k)} is not a string`);
        m[k] = v;
      }
      metadata = m;
      continue;
    }
    const entry = readEntry(name, value, dataLength);
    if (!entry.ok) return entry;
    entries.push(entry.value);
  }
  // Sorted by offset, the tensors must tile the data exactly (the reference's `validate`).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of entries) {
    if (e.begin < at) {
      return fail(
        `tensor ${shownName(e.name)} (bytes ${e.begin}–${e.end}) overlaps tensor ${shownName(previous!.name)} (bytes ${previous!.begin}–${previous!.end})`,
        e.name,
      );
    }
    if (e.begin > at)
      return fail(
        `tensor ${shownName(e.name)} starts at byte ${e.begin}, leaving bytes ${at}–${e.begin} of the data unused`,
        e.name,
      );
    at = e.end;
    previous = e;
  }
  if (at !== dataLength) {
    return fail(
      previous === undefined
        ? `the file has no tensor but ${dataLength} bytes of data`
        : `the tensors end at byte ${at} of the data, but the data has ${dataLength} bytes (after tensor ${shownName(previous.name)})`,
      previous?.name,
    );
  }
  return { ok: true, value: { entries, ...(metadata ? { metadata } : {}), dataStart, fileLength } };
}

function readEntry(name: string, value: Json, dataLength: number): Outcome<SafetensorsEntry> {
  const t = shownName(name);
  if (!(value instanceof Map))
    return fail(`tensor ${t} is not an object with \`dtype\`, \`shape\` and \`data_offsets\``, name);
  const dtype = value.get("dtype");
  if (typeof dtype !== "string") return fail(`tensor ${t} has no \`dtype\` string`, name);
  if (!Object.prototype.hasOwnProperty.call(dtypeSizes, dtype))
    return fail(`tensor ${t} has the unknown dtype ${shownName(dtype)}`, name);
  const shapeValue = value.get("shape");
  if (!Array.isArray(shapeValue)) return fail(`tensor ${t} has no \`shape\` array`, name);
  const shape: number[] = [];
  let elements = 1n;
  for (const d of shapeValue) {
    const n = wholeNumber(d);
    if (n === undefined) return fail(`tensor ${t} has a dimension that is not a whole number ≥ 0: ${show(d)}`, name);
    shape.push(Number(n));
    // Saturated, so that a hostile shape of many huge dimensions stays a small number (a later 0 still
    // makes it 0): any count this large already needs more bytes than a file can have.
    elements *= n;
    if (elements > elementCap) elements = elementCap;
  }
  const offsets = value.get("data_offsets");
  if (!Array.isArray(offsets) || offsets.length !== 2)
    return fail(`tensor ${t} has no \`data_offsets\` pair [begin, end]`, name);
  const begin = wholeNumber(offsets[0]!);
  const end = wholeNumber(offsets[1]!);
  if (begin === undefined || end === undefined)
    return fail(`tensor ${t} has an offset that is not a whole number ≥ 0`, name);
  if (end < begin) return fail(`tensor ${t} ends (byte ${end}) before it begins (byte ${begin})`, name);
  if (end > BigInt(dataLength))
    return fail(`tensor ${t} ends at byte ${end}, past the end of the data (${dataLength} bytes)`, name);
  const bytes = elements * BigInt(dtypeSizes[dtype as Dtype]);
  if (bytes !== end - begin) {
    return fail(`tensor ${t} holds ${end - begin} bytes, but ${dtype} [${shape.join(", ")}] needs ${bytes}`, name);
  }
  return { ok: true, value: { name, dtype: dtype as Dtype, shape, begin: Number(begin), end: Number(end) } };
}

const elementCap = 1n << 64n;

/** A JSON number that is a whole number ≥ 0 and a safe integer (digits only: no sign, fraction or exponent). */
function wholeNumber(v: Json): bigint | undefined {
  if (!(v instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(v.text)) return undefined;
  const n = BigInt(v.text);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? n : undefined;
}

function show(v: Json): string {
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (v instanceof Map) return "an object";
  return String(v);
}

/** Reads and checks a whole file held in memory. */
export function readSafetensors(bytes: Uint8Array): Outcome<SafetensorsFile> {
  const n = headerLength(bytes.subarray(0, 8), bytes.length);
  if (!n.ok) return n;
  const header = parseHeader(bytes.subarray(8, 8 + n.value), bytes.length);
  if (!header.ok) return header;
  return { ok: true, value: { ...header.value, bytes } };
}

/** The bytes of one tensor of a file read by `readSafetensors` (a view, not a copy). */
export function tensorBytes(file: SafetensorsFile, entry: SafetensorsEntry): Uint8Array {
  return file.bytes.subarray(file.dataStart + entry.begin, file.dataStart + entry.end);
}

export function isFloatDtype(dtype: Dtype): dtype is FloatDtype {
  return dtype === "F32" || dtype === "F64" || dtype === "F16" || dtype === "BF16";
}

/** The value of an IEEE 754 half-precision number from its 16 bits: exact (every half is a float32). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Converts the little-endian elements of a float dtype to float32 or float64 numbers, exactly (F64 to
 *  float32 rounds to nearest, as `Math.fround`). `bytes.length` must be a multiple of the element size. */
export function decodeFloats(dtype: FloatDtype, bytes: Uint8Array, to: "float32"): Float32Array;
export function decodeFloats(dtype: FloatDtype, bytes: Uint8Array, to: "float64"): Float64Array;
export function decodeFloats(
  dtype: FloatDtype,
  bytes: Uint8Array,
  to: "float32" | "float64",
): Float32Array | Float64Array;
export function decodeFloats(
  dtype: FloatDtype,
  bytes: Uint8Array,
  to: "float32" | "float64",
): Float32Array | Float64Array {
  const size = dtypeSizes[dtype];
  const n = Math.floor(bytes.length / size);
  const out = to === "float32" ? new Float32Array(n) : new Float64Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32") for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === "F64") for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
  else if (dtype === "F16") for (let i = 0; i < n; i++) out[i] = halfToNumber(view.getUint16(2 * i, true));
  else {
    // bfloat16 is the upper half of a float32.
    const scratch = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < n; i++) {
      scratch.setUint32(0, view.getUint16(2 * i, true) << 16);
      out[i] = scratch.getFloat32(0);
    }
  }
  return out;
}

/** Reads one tensor of a file as float32 or float64; an error for a dtype that is not a float. */
export function readTensor(
  file: SafetensorsFile,
  entry: SafetensorsEntry,
  to: "float32" | "float64",
): Outcome<Float32Array | Float64Array> {
  if (!isFloatDtype(entry.dtype))
    return fail(
      `tensor ${shownName(entry.name)} is ${entry.dtype}, not a float type (F32, F64, F16 or BF16)`,
      entry.name,
    );
  return { ok: true, value: decodeFloats(entry.dtype, tensorBytes(file, entry), to) };
}

/** How many elements of a float tensor's bytes are NaN and how many infinite. */
export function nonFinite(dtype: FloatDtype, bytes: Uint8Array): { nan: number; infinite: number } {
  let nan = 0;
  let infinite = 0;
  const size = dtypeSizes[dtype];
  // Chunks keep the converted copy small for a large tensor.
  const chunk = 1 << 20;
  for (let at = 0; at < bytes.length; at += chunk * size) {
    const values = decodeFloats(
      dtype,
      bytes.subarray(at, Math.min(bytes.length, at + chunk * size)),
      dtype === "F64" ? "float64" : "float32",
    );
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) nan++;
      else if (v === Infinity || v === -Infinity) infinite++;
    }
  }
  return { nan, infinite };
}

/** A tensor to write. `data` holds the elements in row-major order: float32/float64 for F32/F64, int64 for
 *  I64 (BatchNorm's `num_batches_tracked`). */
export type TensorToWrite =
  | { readonly name: string; readonly dtype: "F32"; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly name: string; readonly dtype: "F64"; readonly shape: readonly number[]; readonly data: Float64Array }
  | { readonly name: string; readonly dtype: "I64"; readonly shape: readonly number[]; readonly data: BigInt64Array };

/** dtypes in the reference's order ("increasing alignment"), which the writer sorts by. */
const dtypeOrder: readonly Dtype[] = [
  "BOOL",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "F64",
  "I64",
  "U64",
];

/**
 * A safetensors file as the reference writer lays it out (safetensors/src/tensor.rs, `prepare`): tensors
 * sorted by dtype, largest alignment first, then by name; compact JSON with `__metadata__` first and each
 * entry's fields in the order dtype, shape, data_offsets; the header padded with spaces to a multiple of 8
 * bytes so that every tensor's data is aligned.
 */
export function writeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Outcome<Uint8Array> {
  const names = new Set<string>();
  for (const t of tensors) {
    if (t.name === "__metadata__") return fail("a tensor cannot be called `__metadata__`", t.name);
    if (names.has(t.name)) return fail(`two tensors are called ${shownName(t.name)}`, t.name);
    names.add(t.name);
    let elements = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0)
        return fail(`tensor ${shownName(t.name)} has a dimension that is not a whole number ≥ 0: ${d}`, t.name);
      elements *= d;
    }
    if (elements !== t.data.length)
      return fail(
        `tensor ${shownName(t.name)} has ${t.data.length} elements, but its shape [${t.shape.join(", ")}] needs ${elements}`,
        t.name,
      );
  }
  const sorted = [...tensors].sort(
    (a, b) => dtypeOrder.indexOf(b.dtype) - dtypeOrder.indexOf(a.dtype) || byCodePoint(a.name, b.name),
  );
  const parts: string[] = [];
  if (metadata !== undefined) {
    const m = Object.keys(metadata).map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
    parts.push(`"__metadata__":{${m.join(",")}}`);
  }
  let offset = 0;
  for (const t of sorted) {
    const bytes = t.data.length * dtypeSizes[t.dtype];
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${offset + bytes}]}`,
    );
    offset += bytes;
  }
  const json = encodeUtf8(`{${parts.join(",")}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > maxHeaderBytes)
    return fail(`the header would have ${headerLength} bytes, over the limit of ${maxHeaderBytes}`);
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of sorted) {
    if (t.dtype === "F32") for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true);
    else if (t.dtype === "F64") for (let i = 0; i < t.data.length; i++, at += 8) view.setFloat64(at, t.data[i]!, true);
    else for (let i = 0; i < t.data.length; i++, at += 8) view.setBigInt64(at, t.data[i]!, true);
  }
  return { ok: true, value: out };
}

/** Compares two names as Rust compares strings (by UTF-8 bytes, which is the order of code points). */
function byCodePoint(a: string, b: string): number {
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

// ── UTF-8 ───────────────────────────────────────────────────────────────────────────────────────────

/** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF; `undefined` otherwise. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const units: number[] = [];
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    let cp: number;
    let n: number;
    if (b < 0x80) {
      cp = b;
      n = 0;
    } else if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1f;
      n = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f;
      n = 2;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07;
      n = 3;
    } else {
      return undefined;
    }
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return undefined;
    if (cp > 0xffff) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    else units.push(cp);
    if (units.length >= 8192) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
    i += n + 1;
  }
  return out + String.fromCharCode(...units);
}

/** UTF-8 bytes of a string (a lone surrogate becomes U+FFFD, as TextEncoder does). */
export function encodeUtf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

// ── A strict JSON reader for headers ──────────────────────────────────────────────────────────────────
// Objects become Maps (a duplicate key is an error; `__proto__` is an ordinary key), numbers keep their text
// (offsets beyond 2^53 are not rounded before they are checked), nesting is capped.

/** A JSON number, as written. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type Json = null | boolean | string | JsonNumber | Json[] | Map<string, Json>;

export function parseJson(text: string): Outcome<Json> {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const error = (what: string) => fail(`the header is not valid JSON: ${what} at character ${i}`);
  const str = (): Outcome<string> => {
    // text[i] is the opening quote.
    i++;
    let out = "";
    let start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return { ok: true, value: out };
      }
      if (c < 0x20) return error("a control character in a string");
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (e !== undefined && Object.prototype.hasOwnProperty.call(simple, e)) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          return error("a bad escape in a string");
        }
        start = i;
        continue;
      }
      i++;
    }
    return error("an unterminated string");
  };
  const value = (depth: number): Outcome<Json> => {
    if (depth > maxJsonDepth) return error(`nesting deeper than ${maxJsonDepth}`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const map = new Map<string, Json>();
      ws();
      if (text[i] === "}") {
        i++;
        return { ok: true, value: map };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') return error("expected a string key");
        const key = str();
        if (!key.ok) return key;
        if (map.has(key.value)) return fail(`the header names ${shownName(key.value)} twice`, key.value);
        ws();
        if (text[i] !== ":") return error("expected `:`");
        i++;
        const v = value(depth + 1);
        if (!v.ok) return v;
        map.set(key.value, v.value);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { ok: true, value: map };
        }
        return error("expected `,` or `}`");
      }
    }
    if (c === "[") {
      i++;
      const list: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { ok: true, value: list };
      }
      for (;;) {
        const v = value(depth + 1);
        if (!v.ok) return v;
        list.push(v.value);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { ok: true, value: list };
        }
        return error("expected `,` or `]`");
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0 && m[0] !== "-") {
      if (m[0].length >= 400) return error("a number too long");
      i += m[0].length;
      return { ok: true, value: new JsonNumber(m[0]) };
    }
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { ok: true, value: v };
      }
    }
    return error(i >= n ? "unexpected end" : "an unexpected character");
  };
  const result = value(0);
  if (!result.ok) return result;
  ws();
  if (i !== n) return error("text after the end");
  return result;
}
