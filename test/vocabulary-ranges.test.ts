// Every numeric option of the vocabulary declares its valid range, so a new option cannot forget one: decimals
// carry a `range` (checked finite and in range by the resolver, NN4016), integers a `min` or the `axis` mark
// (any integer, checked against the rank by the shape stage). Each PyTorch default lies within its range.
import { describe, expect, it } from "vitest";
import { inRange, layers, losses, universalOptions, type ArgType, type ParamSpec } from "../src/vocabulary/layers.js";

function leaves(type: ArgType): ArgType[] {
  if (type.kind === "oneOf") return type.types.flatMap(leaves);
  if (type.kind === "list") return leaves(type.of);
  return [type];
}

const specs: { where: string; spec: ParamSpec }[] = [
  ...layers.flatMap((l) => [...l.args, ...l.options].map((spec) => ({ where: `${l.kind}(${spec.name})`, spec }))),
  ...losses.flatMap((l) => l.options.map((spec) => ({ where: `loss ${l.name}(${spec.name})`, spec }))),
  ...universalOptions.map((spec) => ({ where: `universal ${spec.name}`, spec })),
];

describe("option ranges in the registry", () => {
  it("finds the numeric options", () => {
    const decimals = specs.filter(({ spec }) => leaves(spec.type).some((t) => t.kind === "decimal"));
    expect(decimals.map((d) => d.where)).toEqual(
      expect.arrayContaining(["layernorm(eps)", "dropout(p)", "rotary(theta)", "attention(dropout)"]),
    );
  });

  it.each(specs)("$where declares a range", ({ spec }) => {
    for (const t of leaves(spec.type)) {
      if (t.kind === "decimal") {
        expect(t.range, `${spec.name} needs a range`).toBeDefined();
        expect(t.range.why.length).toBeGreaterThan(0);
        if (spec.default?.kind === "decimal") expect(inRange(spec.default.value, t.range)).toBe(true);
      } else if (t.kind === "int" || t.kind === "size") {
        expect(
          t.min !== undefined || (t.kind === "int" && t.axis === true),
          `${spec.name} needs a min or the axis mark`,
        ).toBe(true);
        if (spec.default?.kind === "int" && t.min !== undefined) expect(spec.default.value >= t.min).toBe(true);
      }
    }
  });

  it("inRange rejects non-finite values and honours exclusive bounds", () => {
    const unit = { min: 0, max: 1, exclusiveMax: true, why: "test" };
    expect(inRange(0, unit)).toBe(true);
    expect(inRange(1, unit)).toBe(false);
    expect(inRange(Number.NaN, { why: "test" })).toBe(false);
    expect(inRange(Infinity, { why: "test" })).toBe(false);
    expect(inRange(0, { min: 0, exclusiveMin: true, why: "test" })).toBe(false);
  });
});
