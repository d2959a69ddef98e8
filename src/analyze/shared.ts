// Shared subtrees: how the analysis stays linear in the spec's text. A block call or a repeated element
// analyzed once is reused wherever the same (definition, arguments, input shape) comes back; the reuse
// refers to the first analysis instead of repeating it. What it produced — layer nodes, tensor records,
// block calls, layer names, conventions — is kept as a `Group` in an append-only list, and every later use
// adds the same group again under a `Rename`: a new name prefix and new copy counts. Nothing is copied
// until someone reads it (the JSON tensor list, a table row); figures are computed per distinct subtree
// (src/count/count.ts, `sharedOrigin`).
import type { LayerNode, TensorRecord } from "./records.js";

/** How the records of a first analysis (names under `from`, copies `m0`, active copies `a0`) read at a
 *  later use (names under `to`, copies `m1`, active copies `a1`). Copy counts inside a subtree are
 *  multiples of its root's, so the rescaling is exact. */
export interface Rename {
  readonly name: (name: string) => string;
  readonly copies: (m: bigint) => bigint;
  readonly active: (a: bigint) => bigint;
}

export function rename(from: string, to: string, m0: bigint, m1: bigint, a0: bigint, a1: bigint): Rename {
  return {
    name: (name) => {
      if (name !== from && !name.startsWith(`${from}.`)) throw new Error(`internal: ${name} is not under ${from}`);
      return to + name.slice(from.length);
    },
    copies: (m) => (m / m0) * m1,
    active: (a) => (a / a0) * a1,
  };
}

/** `inner` first, then `outer`. */
export function compose(inner: Rename | null, outer: Rename | null): Rename | null {
  if (!inner) return outer;
  if (!outer) return inner;
  return {
    name: (n) => outer.name(inner.name(n)),
    copies: (m) => outer.copies(inner.copies(m)),
    active: (a) => outer.active(inner.active(a)),
  };
}

/** The entries one analysis added to a list, shared by reference; `rename` null for the first use. */
export class Group<T> {
  constructor(
    readonly items: readonly Entry<T>[],
    readonly rename: Rename | null,
  ) {}
}

export type Entry<T> = T | Group<T>;

const nonEmpty = new WeakMap<readonly unknown[], boolean>();

/** Whether a list holds an entry, in it or in a group of it: decided once per list, so that lists
 *  with nothing in them (the conventions of a model without recurrent layers) cost nothing to spell out
 *  however often they are shared. Only for finished lists (an analysis still running appends). */
function hasEntries<T>(items: readonly Entry<T>[]): boolean {
  let known = nonEmpty.get(items);
  if (known === undefined) {
    known = items.some((item) => !(item instanceof Group) || hasEntries(item.items));
    nonEmpty.set(items, known);
  }
  return known;
}

/** Every entry of a list with groups spelled out, in order. `each` maps an entry through the renames of
 *  the groups around it. With `once`, a group whose items were already listed (under any rename) is
 *  skipped: for lists where a repeated subtree adds nothing new (block calls, by their figures). With
 *  `finished`, the lists are complete and groups with no entries are skipped without a walk. */
export function* expand<T, U>(
  items: readonly Entry<T>[],
  each: (item: T, r: Rename | null) => U,
  options: { once?: boolean; finished?: boolean } = {},
): Generator<U> {
  const { once = false, finished = false } = options;
  const seen = new Set<readonly Entry<T>[]>();
  const stack: { items: readonly Entry<T>[]; i: number; r: Rename | null }[] = [{ items, i: 0, r: null }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i === top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.i++]!;
    if (item instanceof Group) {
      if (finished && !hasEntries(item.items)) continue;
      if (once) {
        if (seen.has(item.items)) continue;
        seen.add(item.items);
      }
      stack.push({ items: item.items, i: 0, r: compose(item.rename, top.r) });
    } else yield each(item, top.r);
  }
}

export function renameTensor(t: TensorRecord, r: Rename | null): TensorRecord {
  if (!r) return t;
  return {
    ...t,
    name: r.name(t.name),
    multiplicity: r.copies(t.multiplicity),
    activeMultiplicity: r.active(t.activeMultiplicity),
  };
}

const origins = new WeakMap<LayerNode, LayerNode>();

/** The node a view was made from (itself for a node that is no view): equal per-copy figures. */
export function sharedOrigin(n: LayerNode): LayerNode {
  return origins.get(n) ?? n;
}

/** `n` as it reads under `r`: names, copies and tensors renamed, children made on first access. */
export function viewNode(n: LayerNode, r: Rename | null): LayerNode {
  if (!r) return n;
  let tensors: TensorRecord[] | undefined;
  let children: LayerNode[] | undefined;
  const view: LayerNode = {
    name: r.name(n.name),
    kind: n.kind,
    outputShape: n.outputShape,
    get tensors() {
      return (tensors ??= n.tensors.map((t) => renameTensor(t, r)));
    },
    macs: n.macs,
    get children() {
      return (children ??= n.children.map((c) => viewNode(c, r)));
    },
    count: n.count,
    activeCount: n.activeCount,
    multiplicity: r.copies(n.multiplicity),
    activeMultiplicity: r.active(n.activeMultiplicity),
    ...(n.convention !== undefined ? { convention: n.convention } : {}),
    span: n.span,
    ...(n.flow ? { flow: n.flow } : {}),
    ...(n.reuse ? { reuse: n.reuse } : {}),
    flowOps: n.flowOps,
    names: n.names,
    ops: n.ops,
    opsAt: n.opsAt,
  };
  origins.set(view, sharedOrigin(n));
  return view;
}
