// The registry of layer kinds (src/vocabulary/registry.ts): the compiler checks that every definition has
// every piece and every op kind a kernel; these check what types cannot.
import { describe, expect, it } from "vitest";
import { kernels, viewKinds } from "../src/emit/kernels/index.js";
import { layers } from "../src/vocabulary/layers.js";
import { familySizes, internalOps, kindDef, kinds, opDef, positionUse } from "../src/vocabulary/registry.js";

describe("registry of layer kinds", () => {
  it("no two family files define the same kind (a spread would silently keep the last)", () => {
    expect(familySizes.reduce((a, b) => a + b, 0)).toBe(Object.keys(kinds).length);
  });

  it("every kind is in the resolver's table, in the registry's order, and an alias names an op kind", () => {
    expect(layers.map((e) => e.kind)).toEqual(Object.keys(kinds));
    for (const e of layers) {
      const def = kindDef(e.kind);
      expect(def, e.kind).toBeDefined();
      if (e.aliasOf !== undefined) expect(opDef(e.aliasOf), e.kind).toBe(def);
    }
  });

  it("every op of the IR has a kernel and says how it uses positions; containers have neither", () => {
    for (const [kind, def] of Object.entries(kinds)) {
      if (def.form === "op") {
        expect(kernels[kind], kind).toBeDefined();
        expect(positionUse(kind), kind).toBeDefined();
      }
      if (def.form === "container") expect(kernels[kind], kind).toBeUndefined();
    }
    for (const kind of Object.keys(internalOps)) expect(kernels[kind], kind).toBeDefined();
    expect(Object.keys(kernels).sort()).toEqual(
      [
        ...Object.keys(kinds).filter((k) => kinds[k as keyof typeof kinds].form === "op"),
        ...Object.keys(internalOps),
      ].sort(),
    );
  });

  it("only kinds that only move elements are views of their input's memory", () => {
    expect([...viewKinds].sort()).toEqual(["flatten", "identity", "reshape"]);
    for (const kind of viewKinds) expect(opDef(kind)?.tokenIds === "keeps" || kind === "identity", kind).toBe(true);
  });
});
