// The feature test a generated module will run once at load to choose its path (`--target auto`, issue
// 17): `WebAssembly.validate` of a module that uses SIMD128 answers false on an engine without it (the
// validator rejects the unknown 0xFD-prefixed opcodes), without compiling or running anything.
import { Code, encodeModule } from "./encoder.js";

/** A minimal module whose one function splats a float into a v128 and reads a lane back. */
export function simdProbe(): Uint8Array {
  const body = new Code().f32Const(1).f32x4Splat().f32x4ExtractLane(0);
  return encodeModule({
    memory: { exportAs: "memory", minPages: 0 },
    functions: [{ name: "probe", params: [], results: ["f32"], locals: [], body }],
  });
}
