// THE argument binder (src/vocabulary/binder.ts): what it binds, and that its problems are exactly those
// the resolver reports today (same places, same kinds), so that the resolver can take it over unchanged.
import { describe, expect, it } from "vitest";
import { resolve } from "../src/resolve/resolve.js";
import { catalogue } from "../src/diagnostics/catalogue.js";
import type { Call, FileNode } from "../src/syntax/ast.js";
import { parse } from "../src/syntax/parse.js";
import { bindArguments, type BindStep } from "../src/vocabulary/binder.js";
import { layerEntry, universalOptions, type ParamSpec } from "../src/vocabulary/layers.js";

function fileOf(call: string): { ast: FileNode; call: Call } {
  const text = `model M(x: f32[3, 16, 16]) {\n  ${call}\n}\n`;
  const parsed = parse(text, "t.nn");
  expect(parsed.diagnostics, call).toEqual([]);
  const ast = parsed.value.ast!;
  let found: Call | undefined;
  const visit = (n: unknown): void => {
    if (found || typeof n !== "object" || n === null) return;
    if ((n as { kind?: string }).kind === "Call") found = n as Call;
    else for (const [k, v] of Object.entries(n)) if (k !== "span") visit(v);
  };
  visit(ast);
  return { ast, call: found! };
}

function bindCall(call: Call) {
  const entry = layerEntry(call.callee.name)!;
  return bindArguments<ParamSpec>(entry.args, [...entry.args, ...entry.options, ...universalOptions], call.args);
}

const codeOf: Record<Exclude<BindStep<ParamSpec>["kind"], "bind">, string> = {
  positionalAfterNamed: catalogue.PositionalAfterNamed.code,
  tooManyPositional: catalogue.TooManyArguments.code,
  unknownName: catalogue.UnknownOption.code,
  duplicate: catalogue.DuplicateOption.code,
};
const binding = new Set(Object.values(codeOf).concat(catalogue.MissingArgument.code));

describe("bindArguments", () => {
  it("binds positional arguments in order and named ones by name, universal options included", () => {
    const { call } = fileOf("conv2d(8, 3, padding = 1, frozen = true)");
    const b = bindCall(call);
    expect(b.steps.map((s) => (s.kind === "bind" ? s.param.name : s.kind))).toEqual([
      "out",
      "kernel",
      "padding",
      "frozen",
    ]);
    expect(b.missing).toEqual([]);
  });

  it("binds a positional argument after a named one to the next positional parameter not given", () => {
    const { call } = fileOf("conv2d(kernel = 3, 8)");
    const b = bindCall(call);
    expect(b.steps.map((s) => (s.kind === "bind" ? `bind ${s.param.name}` : s.kind))).toEqual([
      "bind kernel",
      "positionalAfterNamed",
      "bind out",
    ]);
  });

  it("reports the problems the resolver reports, at the same places", () => {
    for (const text of [
      "conv2d(8, 3, 1, 2)",
      "conv2d(8, kernel = 3, stide = 2)",
      "conv2d(8, 3, stride = 2, stride = 1)",
      "conv2d(8)",
      "conv2d(out = 8, 3, 4)",
      "dense(4, bias = false, out = 3)",
      "relu(1)",
      "attention(heads = 2, heads = 3, 7)",
    ]) {
      const { ast, call } = fileOf(text);
      const b = bindCall(call);
      const fromBinder = [
        ...b.steps.flatMap((s) => (s.kind === "bind" ? [] : [`${codeOf[s.kind]}@${s.arg.span.start}`])),
        ...(b.missing.length ? [`${catalogue.MissingArgument.code}@${call.callee.span.start}`] : []),
      ];
      const fromResolver = resolve(ast)
        .diagnostics.filter((d) => binding.has(d.code))
        .map((d) => `${d.code}@${d.span!.start}`);
      // The resolver locates a name's problems at the name, which is where its argument starts.
      expect(fromBinder.sort(), text).toEqual(fromResolver.sort());
      expect(fromBinder.length, text).toBeGreaterThan(0);
    }
  });
});
