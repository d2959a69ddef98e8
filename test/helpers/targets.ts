// Running a numerical test on both kernel targets of a generated module (`compile({ target })`): the
// TypeScript kernels and the WebAssembly SIMD kernels (src/emit/wasm/), as the conv tests do.
import { expect } from "vitest";

export type KernelTarget = "ts" | "wasm";

/** Every case once per target: its name gets " --target ts|wasm" and the target is appended to it. */
export function onBothTargets<const T extends readonly unknown[]>(
  cases: readonly (readonly [string, ...T])[],
): (readonly [string, ...T, KernelTarget])[] {
  return cases.flatMap(([name, ...rest]) =>
    (["ts", "wasm"] as const).map((target) => [`${name} --target ${target}`, ...rest, target] as const),
  );
}

/** On the wasm target, an attention layer's projections run on the dense SIMD kernels (the module's text
 *  calls them under \`if (arena)\` and the engine has SIMD); on ts, no WebAssembly at all. \`inOut\`: the
 *  matrices are stored [in, out] (\`layout = in_out\`), on the kernels by transposition
 *  (\`wasmDenseInOutForward\`); a fused \`qkv_proj\` reading x (not cross-attention) as one product whose
 *  column blocks are copied to q, k and v (\`wasmDenseInOutForward3\`, asserted). */
export function expectAttentionTarget(text: string, target: KernelTarget, module: unknown, inOut = false): void {
  const call = inOut ? "wasmDenseInOutForward" : "wasmDenseForward";
  const simd = new RegExp(
    `(every position of every sample|// output projection[^\\n]*)\\n\\s*if \\(arena\\) ${call}\\(arena, `,
  );
  expect(simd.test(text), "attention projections on the SIMD kernels").toBe(target === "wasm");
  if (target === "wasm") expect((module as { kernelTarget?: string }).kernelTarget).toBe("wasm-simd");
  // k read from x (not a memory) through a column block of the fused matrix
  if (target === "wasm" && inOut && /\/\/ k = x · \(\w+ columns /.test(text)) {
    expect(text, "a fused [in, out] projection as one product on the SIMD kernels").toMatch(
      /\n\s*if \(arena\) wasmDenseInOutForward3\(arena, /,
    );
  }
  if (target === "ts") expect(text).not.toMatch(/wasmDense(InOut)?Forward\(arena/);
}

/** Whether the module runs attention's per-head products on the SIMD kernels (src/emit/wasm/attention.ts). */
export function headsOnSimd(text: string): boolean {
  return text.includes("on the SIMD kernels (src/emit/wasm/attention.ts)");
}
