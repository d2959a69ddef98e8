// One function per op signature: layer copies whose code differs only in which arrays they read and write
// and where their parameters and buffers sit (ResNet's repeated bottlenecks, a transformer's layers) share
// one forward and one backward function, called with those differences as arguments.
//
// Kernels are not changed for this. The module renders an op's code twice more, with a mark in place of
// the op's name and the claim answers of the real render replayed: once with the true offsets, once with
// every parameter and buffer offset shifted by its own power of two (2^36, 2^37, …). The two texts must be
// the same token for token except numbers; a number that differs by exactly one tensor's shift is that
// tensor's offset plus a constant and becomes `weightAt + c`; any other difference (an offset folded into
// something else) and the op keeps a function of its own. The arrays the op was given (activations,
// gradients, scratch) become parameters too. Ops whose resulting templates are the same text share them.
import type { EmitCtx } from "./kernel.js";

/** Stands for the op's name in a template render. */
export const NAME_MARK = "@@op@@";

/** A parameter or buffer offset an op asked for in a template render. */
export interface OffsetRequest {
  /** `weight`, `bias`, `running_mean`, … (local to the op). */
  readonly tensor: string;
  readonly kind: "param" | "buffer";
  readonly real: number;
  readonly shift: number;
}

/** A context for a template render: the name marked, claims replayed, offsets (maybe) shifted. */
export function templateContext(
  base: EmitCtx,
  answers: readonly boolean[],
  shifted: boolean,
): { ctx: EmitCtx; requests: OffsetRequest[] } {
  const requests: OffsetRequest[] = [];
  let next = 0;
  const replay = (): boolean => {
    const answer = answers[next++];
    if (answer === undefined) throw new Error("internal: a template render asked more claims than the real one");
    return answer;
  };
  const offset = (kind: OffsetRequest["kind"], tensor: string, real: number): number => {
    let r = requests.find((q) => q.kind === kind && q.tensor === tensor);
    if (!r) {
      r = { tensor, kind, real, shift: 2 ** (36 + requests.length) };
      requests.push(r);
    }
    return shifted ? real + r.shift : real;
  };
  const ctx: EmitCtx = {
    ...base,
    op: { ...base.op, name: NAME_MARK },
    claimInputGrad: replay,
    claimParamGrads: replay,
    param: (tensor) => offset("param", tensor, base.param(tensor)),
    buffer: (tensor) => offset("buffer", tensor, base.buffer(tensor)),
  };
  return { ctx, requests };
}

/** An array the op's code names: its name in the module, the parameter it becomes, and its type. */
export interface ArrayBinding {
  readonly actual: string;
  readonly param: string;
  readonly type: string;
}

export interface Template {
  /** The function body, with parameters in place of the op's arrays, offsets and name. */
  readonly body: string;
  /** Parameters beyond `p`, `gp`, `n`, `training` (which the caller adds when the body reads them). */
  readonly params: readonly { readonly name: string; readonly type: string; readonly arg: string }[];
  /** The body and the parameters' names and types: equal keys, one function. */
  readonly key: string;
}

const NUMBER = /(\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)/;
/** Any of these identifiers as a whole word (names here are plain identifiers: letters, digits, `_`). */
const words = (names: readonly string[]) => new RegExp(`(?<![\\w$])(?:${names.join("|")})(?![\\w$])`, "g");
const camel = (tensor: string) => tensor.replace(/[._]+(\w)/g, (_, c: string) => c.toUpperCase());

/** The op's template from its two template renders (true and shifted offsets), or undefined when the
 *  code is not a function of the offsets in the one way understood here. */
export function makeTemplate(
  trueText: string,
  shiftedText: string,
  requests: readonly OffsetRequest[],
  arrays: readonly ArrayBinding[],
  opName: string,
): Template | undefined {
  if (trueText === "" || requests.length > 15) return undefined;
  const actuals = new Set(arrays.map((a) => a.actual));
  if (actuals.size !== arrays.length) return undefined; // the same array in two roles
  const offsetParam = (r: OffsetRequest) => `${camel(r.tensor)}At`;
  const newNames = [...arrays.map((a) => a.param), ...requests.map(offsetParam), "name"];
  if (new Set(newNames).size !== newNames.length) return undefined;
  if (words(newNames).test(trueText)) return undefined; // a parameter would shadow a name
  const renamed = new Map(arrays.map((x) => [x.actual, x.param]));
  const rename = (text: string) =>
    arrays.length === 0 ? text : text.replace(words([...renamed.keys()]), (m) => renamed.get(m)!);
  const a = rename(trueText).split(NUMBER);
  const b = rename(shiftedText).split(NUMBER);
  if (a.length !== b.length) return undefined;
  const used = new Set<string>();
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (i % 2 === 0) return undefined; // text other than a number differs
    const d = Number(b[i]) - Number(a[i]);
    const r = requests.find((q) => q.shift === d);
    if (!r || !Number.isInteger(Number(a[i]))) return undefined;
    const name = offsetParam(r);
    used.add(name);
    const c = Number(a[i]) - r.real;
    const expr = c === 0 ? name : `${name} ${c > 0 ? "+" : "-"} ${Math.abs(c)}`;
    // Parentheses unless the neighbours bind no tighter than `+`.
    const before = a[i - 1]!.trimEnd();
    const after = a[i + 1]!.trimStart();
    const loose = /(^|[[(,=?:+]|return)$/.test(before) && /^([\]),;:?+-]|$)/.test(after);
    a[i] = c === 0 || loose ? expr : `(${expr})`;
  }
  let body = a.join("");
  // The op's name: dropped from comments (the call site names the op), a parameter in messages.
  body = body.replace(new RegExp(`(// )${NAME_MARK}: `, "g"), "$1");
  const usesName = body.includes(`\`${NAME_MARK}`);
  body = body.replace(new RegExp(`\`${NAME_MARK}`, "g"), "`${name}");
  if (body.includes(NAME_MARK)) return undefined;
  const params = [
    ...arrays.filter((x) => words([x.param]).test(body)).map((x) => ({ name: x.param, type: x.type, arg: x.actual })),
    ...requests
      .filter((r) => used.has(offsetParam(r)))
      .map((r) => ({ name: offsetParam(r), type: "number", arg: String(r.real) })),
    ...(usesName ? [{ name: "name", type: "string", arg: JSON.stringify(opName) }] : []),
  ];
  return { body, params, key: `${params.map((x) => `${x.name}: ${x.type}`).join(", ")}\n${body}` };
}
