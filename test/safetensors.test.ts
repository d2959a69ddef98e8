// The safetensors reader and writer (src/weights/safetensors.ts) against files written by PyTorch's tensors
// through test/fixtures/safetensors/make.py (which checks its writer against the reference implementation's
// own byte vectors), PyTorch's F16/BF16 conversions, the reference's test vectors, and hostile files.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import ts from "typescript";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import {
  decodeFloats,
  decodeUtf8,
  encodeUtf8,
  halfToNumber,
  headerLength,
  nonFinite,
  parseHeader,
  readSafetensors,
  readTensor,
  tensorBytes,
  writeSafetensors,
  type SafetensorsFile,
  type TensorToWrite,
} from "../src/weights/safetensors.js";

const dir = "test/fixtures/safetensors";
const bytesOf = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, name)));
const jsonOf = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as Record<string, unknown>;

function read(name: string): SafetensorsFile {
  const r = readSafetensors(bytesOf(name));
  if (!r.ok) throw new Error(`${name}: ${r.problem.message}`);
  return r.value;
}

/** JSON numbers with NaN and the infinities written as strings (make.py's `floats`). */
function numbers(values: unknown): number[] {
  return (values as (number | string)[]).map((v) =>
    v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : (v as number),
  );
}

function tensor(file: SafetensorsFile, name: string, to: "float32" | "float64"): Float32Array | Float64Array {
  const entry = file.entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no ${name}`);
  const r = readTensor(file, entry, to);
  if (!r.ok) throw new Error(r.problem.message);
  return r.value;
}

describe("safetensors reader", () => {
  it("reads a PyTorch state dict: names, dtypes, shapes, offsets in the reference writer's order", () => {
    const file = read("mlp.safetensors");
    expect(file.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
      // I64 first (largest alignment), then F32 by name: the reference writer's order.
      ["bn.num_batches_tracked", "I64", []],
      ["bn.bias", "F32", [8]],
      ["bn.running_mean", "F32", [8]],
      ["bn.running_var", "F32", [8]],
      ["bn.weight", "F32", [8]],
      ["fc1.bias", "F32", [8]],
      ["fc1.weight", "F32", [8, 4]],
      ["fc2.bias", "F32", [3]],
      ["fc2.weight", "F32", [3, 8]],
    ]);
    expect(file.metadata).toBeUndefined();
    expect(read("mlp-meta.safetensors").metadata).toEqual({ format: "pt" });
    const counter = file.entries[0]!;
    expect(new DataView(tensorBytes(file, counter).slice().buffer).getBigInt64(0, true)).toBe(3n); // three training passes in make.py
  });

  it.each([
    ["mlp.safetensors", "mlp.expected.json"],
    ["mlp-f64.safetensors", "mlp-f64.expected.json"],
    ["mlp-f16.safetensors", "mlp-f16.expected.json"],
    ["mlp-bf16.safetensors", "mlp-bf16.expected.json"],
  ])("%s: every value as PyTorch reads it, in float64 and float32", (file, expectedFile) => {
    const f = read(file);
    const expected = jsonOf(expectedFile);
    for (const [name, values] of Object.entries(expected)) {
      const want = numbers(values);
      expect(Array.from(tensor(f, name, "float64")), name).toEqual(want);
      expect(Array.from(tensor(f, name, "float32")), name).toEqual(want.map(Math.fround));
    }
  });

  it("special values in F16, BF16, F32 and F64 (zeros, infinities, NaN, subnormals, overflow) as PyTorch converts them", () => {
    const f = read("values.safetensors");
    const expected = jsonOf("values.expected.json");
    for (const key of ["f16", "bf16", "f32", "f64"]) {
      const got = Array.from(tensor(f, key, "float64"));
      const want = numbers(expected[key]);
      expect(
        got.map((v) => (Object.is(v, -0) ? "-0" : v)),
        key,
      ).toEqual(want.map((v) => (Object.is(v, -0) ? "-0" : v)));
    }
  });

  it("all 65,536 half and bfloat16 bit patterns convert to the float32 PyTorch gives", () => {
    const expected = jsonOf("values.expected.json");
    const bytes = new Uint8Array(65536 * 2);
    const view = new DataView(bytes.buffer);
    for (let p = 0; p < 65536; p++) view.setUint16(2 * p, p, true);
    for (const [dtype, key] of [
      ["F16", "f16"],
      ["BF16", "bf16"],
    ] as const) {
      const values = decodeFloats(dtype, bytes, "float32");
      const bits = new Uint32Array(values.buffer);
      let checksum = 0n;
      let nan = 0;
      for (let p = 0; p < 65536; p++) {
        const isNan = Number.isNaN(values[p]!);
        if (isNan) nan++;
        checksum += BigInt(p + 1) * BigInt(isNan ? 0x7fc00000 : bits[p]!);
      }
      expect(nan, key).toBe(expected[`${key}_all_nan`]);
      expect(String(checksum), key).toBe(expected[`${key}_all_checksum`]);
    }
    // Hand-checked against IEEE 754 binary16: the smallest subnormal 2^-24, the largest 65504, -0.
    expect(halfToNumber(0x0001)).toBe(2 ** -24);
    expect(halfToNumber(0x7bff)).toBe(65504);
    expect(Object.is(halfToNumber(0x8000), -0)).toBe(true);
  });

  it("counts NaN and infinite elements", () => {
    const f = read("mlp-nan.safetensors");
    const count = (name: string) => {
      const e = f.entries.find((x) => x.name === name)!;
      return nonFinite("F32", tensorBytes(f, e));
    };
    expect(count("fc1.weight")).toEqual({ nan: 1, infinite: 1 });
    expect(count("bn.running_var")).toEqual({ nan: 0, infinite: 1 });
    expect(count("fc2.weight")).toEqual({ nan: 0, infinite: 0 });
  });

  it("every dtype of the reference has its size (safetensors/src/tensor.rs, `Dtype::size`)", () => {
    // BOOL, U8, I8, F8_E5M2, F8_E4M3: 1 byte; I16, U16, F16, BF16: 2; I32, U32, F32: 4; F64, I64, U64: 8.
    const sizes: Record<string, number> = {
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
    };
    const file = (dtype: string, bytes: number) => {
      const json = new TextEncoder().encode(`{"t":{"dtype":"${dtype}","shape":[3],"data_offsets":[0,${bytes}]}}`);
      const out = new Uint8Array(8 + json.length + bytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    for (const [dtype, size] of Object.entries(sizes)) {
      const r = readSafetensors(file(dtype, 3 * size));
      expect(r.ok && r.value.entries[0]!.dtype, dtype).toBe(dtype);
      expect(readSafetensors(file(dtype, 3 * size + 1)).ok, dtype).toBe(false);
    }
  });

  it("refuses to read an integer tensor as floats, naming it", () => {
    const f = read("mlp.safetensors");
    const r = readTensor(f, f.entries[0]!, "float32");
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problem).toEqual({
        message: "tensor `bn.num_batches_tracked` is I64, not a float type (F32, F64, F16 or BF16)",
        tensor: "bn.num_batches_tracked",
      });
  });
});

describe("safetensors hostile files", () => {
  // Each file breaks the format in one way (make.py, `hostile`): an error naming the tensor, never a throw.
  const cases: [string, RegExp, string | undefined][] = [
    ["truncated", /^tensor `fc2\.weight` ends at byte 404, past the end of the data \(394 bytes\)$/, "fc2.weight"],
    ["short", /^the file has 5 bytes, fewer than the 8 of the header's length$/, undefined],
    ["header-past-end", /^the header's length is 1020 bytes, but the file has only 1012 after the length$/, undefined],
    ["header-huge", /^the header's length is 9223372036854775808 bytes, over the limit of 100000000$/, undefined],
    ["header-over-cap", /^the header's length is 100000001 bytes, over the limit of 100000000$/, undefined],
    ["overlap", /^tensor `b` \(bytes 8–24\) overlaps tensor `a` \(bytes 0–16\)$/, "b"],
    ["hole", /^tensor `b` starts at byte 20, leaving bytes 16–20 of the data unused$/, "b"],
    ["trailing", /^the tensors end at byte 16 of the data, but the data has 20 bytes \(after tensor `a`\)$/, "a"],
    ["shape-mismatch", /^tensor `a` holds 16 bytes, but F32 \[3\] needs 12$/, "a"],
    ["dtype-mismatch", /^tensor `a` holds 16 bytes, but F64 \[4\] needs 32$/, "a"],
    ["negative-dim", /^tensor `a` has a dimension that is not a whole number ≥ 0: -4$/, "a"],
    ["fraction-dim", /^tensor `a` has a dimension that is not a whole number ≥ 0: 4\.0$/, "a"],
    ["huge-dims", /^tensor `a` holds 16 bytes, but F32 \[9007199254740991, .*\] needs 73786976294838206464$/, "a"],
    ["offset-overflow", /^tensor `a` has an offset that is not a whole number ≥ 0$/, "a"],
    ["reversed-offsets", /^tensor `a` ends \(byte 0\) before it begins \(byte 16\)$/, "a"],
    ["past-end", /^tensor `a` ends at byte 32, past the end of the data \(16 bytes\)$/, "a"],
    ["duplicate", /^the header names `a` twice$/, "a"],
    ["unknown-dtype", /^tensor `a` has the unknown dtype `F17`$/, "a"],
    ["no-offsets", /^tensor `a` has no `data_offsets` pair \[begin, end\]$/, "a"],
    ["not-object", /^the header does not start with `\{`$/, undefined],
    ["bad-utf8", /^the header is not valid UTF-8$/, undefined],
    ["bad-json", /^the header is not valid JSON: expected `,` or `\}` at character 54$/, undefined],
    ["metadata-not-string", /^`__metadata__` entry `format` is not a string$/, undefined],
    ["deep", /^the header is not valid JSON: nesting deeper than 64 at character \d+$/, undefined],
  ];

  it.each(cases)("hostile-%s.safetensors", (name, message, tensorName) => {
    const r = readSafetensors(bytesOf(`hostile-${name}.safetensors`));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.message).toMatch(message);
    expect(r.problem.tensor).toBe(tensorName);
  });

  it("checks the header's length before reading the header (a file read in pieces)", () => {
    const file = bytesOf("mlp.safetensors");
    // make.py's header: 608 bytes (a multiple of 8), then 404 bytes of data (101 four-byte elements, 100 F32 and
    // the I64 counter's 8 bytes counting as 2): 8 + 608 + 404 = 1020.
    expect(file.length).toBe(1020);
    expect(headerLength(file.subarray(0, 8), file.length)).toEqual({ ok: true, value: 608 });
    const n = 608;
    const parsed = parseHeader(file.subarray(8, 8 + n), file.length);
    expect(parsed.ok && parsed.value.dataStart).toBe(616);
    // The same header against a file one byte longer or shorter: the data no longer ends where the file does.
    expect(parseHeader(file.subarray(8, 8 + n), file.length + 1).ok).toBe(false);
    expect(parseHeader(file.subarray(8, 8 + n), file.length - 1).ok).toBe(false);
  });

  it("never throws on random bytes or random cuts of a good file", () => {
    const good = bytesOf("mlp.safetensors");
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const bytes = good.slice(0, Math.floor(random() * good.length));
      for (let k = 0; k < 3; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      expect(() => readSafetensors(bytes)).not.toThrow();
    }
  });
});

describe("safetensors writer", () => {
  it("writes the reference implementation's test vectors byte for byte (safetensors/src/tensor.rs tests)", () => {
    const data = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const dataBytes = new Uint8Array(data.buffer);
    const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
    // test_serialization: `attn.0`, F32 [1, 2, 3], a 64-byte header needing no padding.
    expect(ok(writeSafetensors([{ name: "attn.0", dtype: "F32", shape: [1, 2, 3], data }]))).toEqual(
      new Uint8Array([
        64,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        ...ascii('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
        ...dataBytes,
      ]),
    );
    // test_serialization_forced_alignement: `attn0`, F32 [1, 1, 2, 3]: 7 spaces of padding.
    expect(ok(writeSafetensors([{ name: "attn0", dtype: "F32", shape: [1, 1, 2, 3], data }]))).toEqual(
      new Uint8Array([
        72,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        ...ascii('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       '),
        ...dataBytes,
      ]),
    );
    // test_empty, with and without metadata.
    expect(ok(writeSafetensors([]))).toEqual(
      new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]),
    );
    expect(ok(writeSafetensors([], { framework: "pt" }))).toEqual(
      new Uint8Array([40, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"__metadata__":{"framework":"pt"}}     ')]),
    );
  });

  it("rewrites PyTorch's state dict to the same bytes (F32 and the I64 batch counter)", () => {
    for (const name of ["mlp.safetensors", "mlp-meta.safetensors", "mlp-f64.safetensors", "tied-twice.safetensors"]) {
      const f = read(name);
      const tensors: TensorToWrite[] = f.entries.map((e) => {
        const bytes = tensorBytes(f, e).slice();
        if (e.dtype === "I64")
          return { name: e.name, dtype: "I64", shape: e.shape, data: new BigInt64Array(bytes.buffer) };
        if (e.dtype === "F64")
          return { name: e.name, dtype: "F64", shape: e.shape, data: decodeFloats("F64", bytes, "float64") };
        return { name: e.name, dtype: "F32", shape: e.shape, data: decodeFloats("F32", bytes, "float32") };
      });
      // Given in reverse: the writer sorts.
      expect(ok(writeSafetensors(tensors.reverse(), f.metadata)), name).toEqual(bytesOf(name));
    }
  });

  it("round-trips F32 and F64 exactly, NaN, infinities and -0 included", () => {
    const f32 = Float32Array.from([NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38, 0.1]);
    const f64 = Float64Array.from([NaN, -Infinity, -0, 5e-324, 1.7976931348623157e308, 0.1]);
    const file = ok(
      writeSafetensors([
        { name: "a", dtype: "F32", shape: [7], data: f32 },
        { name: "b", dtype: "F64", shape: [2, 3], data: f64 },
      ]),
    );
    const back = readSafetensors(file);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(Array.from(tensor(back.value, "a", "float32")).map(String)).toEqual(
      Array.from(f32).map((v) => (Object.is(v, -0) ? "0" : String(v))),
    );
    expect(Object.is(tensor(back.value, "a", "float32")[3], -0)).toBe(true);
    expect(Array.from(tensor(back.value, "b", "float64"))).toEqual(Array.from(f64));
    expect(back.value.entries.map((e) => e.name)).toEqual(["b", "a"]); // F64 before F32
  });

  it("refuses what it cannot write, naming the tensor", () => {
    const data = new Float32Array(2);
    expect(writeSafetensors([{ name: "a", dtype: "F32", shape: [3], data }])).toEqual({
      ok: false,
      problem: { message: "tensor `a` has 2 elements, but its shape [3] needs 3", tensor: "a" },
    });
    expect(
      writeSafetensors([
        { name: "a", dtype: "F32", shape: [2], data },
        { name: "a", dtype: "F32", shape: [2], data },
      ]),
    ).toEqual({
      ok: false,
      problem: { message: "two tensors are called `a`", tensor: "a" },
    });
    expect(writeSafetensors([{ name: "a", dtype: "F32", shape: [-2], data }]).ok).toBe(false);
  });
});

describe("safetensors.ts as generated code", () => {
  // The file is to be copied into generated modules: it must pass what they pass (test/generated-strict.test.ts).
  it("type-checks with @tsconfig/strictest, lib ES2022 and no types (no Node, no DOM)", () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      path.resolve("test/generated-strict.tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        },
      },
    );
    expect(config!.options.exactOptionalPropertyTypes).toBe(true);
    const program = ts.createProgram(["src/weights/safetensors.ts"], config!.options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName ?? ""} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(problems).toEqual([]);
    expect(fs.readFileSync("src/weights/safetensors.ts", "utf8")).not.toMatch(/^import |@ts-|eslint-disable/m);
  }, 60_000);

  it("passes typescript-eslint's recommended rules", async () => {
    const eslint = new ESLint({
      cwd: process.cwd(),
      overrideConfigFile: true,
      overrideConfig: tseslint.configs.recommended,
    });
    const [result] = await eslint.lintFiles(["src/weights/safetensors.ts"]);
    expect(result!.messages.map((m) => `${m.line}: ${m.ruleId} ${m.message}`)).toEqual([]);
  }, 60_000);

  it("decodes and encodes UTF-8 as TextDecoder (fatal) and TextEncoder do", () => {
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const interesting = [
      0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90,
      0x8f,
    ];
    for (let t = 0; t < 20000; t++) {
      const bytes = Uint8Array.from({ length: 1 + random(6) }, () =>
        random(2) ? interesting[random(interesting.length)]! : random(256),
      );
      let want: string | undefined;
      try {
        want = decoder.decode(bytes);
      } catch {
        want = undefined;
      }
      expect(decodeUtf8(bytes), Array.from(bytes).join(",")).toBe(want);
    }
    // RFC 3629's ill-formed sequences: a surrogate, overlong forms, beyond U+10FFFF, a truncated one.
    for (const bad of [
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xf0, 0x80, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      expect(decodeUtf8(Uint8Array.from(bad)), bad.join(",")).toBeUndefined();
    }
    expect(decodeUtf8(Uint8Array.from([0xed, 0x9f, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf]))).toBe("\ud7ff\udbff\udfff"); // U+D7FF, U+10FFFF
    const encoder = new TextEncoder();
    const units = [0x41, 0xe9, 0x7ff, 0x800, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x20ac, 0x10];
    for (let t = 0; t < 5000; t++) {
      const text = String.fromCharCode(...Array.from({ length: 1 + random(5) }, () => units[random(units.length)]!));
      expect(encodeUtf8(text)).toEqual(encoder.encode(text));
    }
    const long = "é€😀".repeat(10000);
    expect(decodeUtf8(encoder.encode(long))).toBe(long);
  });
});

function ok<T>(r: { ok: true; value: T } | { ok: false; problem: { message: string } }): T {
  if (!r.ok) throw new Error(r.problem.message);
  return r.value;
}
