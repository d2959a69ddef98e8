// The WebAssembly JavaScript API, typed: the project compiles with `lib: ES2022` and no DOM types, and
// @types/node 20 declares no `WebAssembly` values, so tests reach it through this one narrow interface.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports?: object) => WasmInstance;
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
