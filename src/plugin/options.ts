// The bundler plugin's options as a plain interface: part of the shipped declarations of `nnc/plugin`,
// which must name no zod type (spec-module.ts validates them with `pluginOptionsSchema`).

export interface PluginOptions {
  /** Storage type of the generated code; `"float32"` by default. */
  readonly dtype?: "float32" | "float64";
  /** Dense layers above the unroll limit on embedded WebAssembly SIMD kernels: where the engine has SIMD
   *  (\`"auto"\`, the default), always (\`"wasm"\`: no SIMD is an error at load) or never (\`"ts"\`). */
  readonly target?: "auto" | "wasm" | "ts";
  /** Dense layers up to this many multiply–adds are fully unrolled (default 256). */
  readonly unrollLimit?: number;
  /** Output columns per register tile in looped matrix kernels (1–16, default 8). */
  readonly tileColumns?: number;
  /** Where the declarations of `x.nn` go: `".nn.d.ts"` (the default), `".d.nn.ts"`, or `false` for none. */
  readonly declarations?: ".nn.d.ts" | ".d.nn.ts" | false;
}
