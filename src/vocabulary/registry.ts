// THE registry of layer kinds: every definition of kinds/, in the order of the language reference. The
// kind names are the keys, so `LayerKind` is exactly the set of kinds defined, and `OpKind` the kinds the
// code generator must have a kernel for (src/emit/kernels/index.ts is typed by it). See kind.ts for what
// a definition holds and ARCHITECTURE.md, "Adding a layer kind".
import type { AliasKindDef, ContainerKindDef, KindDef, LayerEntry, OpKindDef, PositionUse } from "./kind.js";
import { activationKinds } from "./kinds/activation.js";
import { attentionKinds } from "./kinds/attention.js";
import { containerKinds } from "./kinds/container.js";
import { convKinds } from "./kinds/conv.js";
import { denseKinds } from "./kinds/dense.js";
import { embeddingKinds } from "./kinds/embedding.js";
import { normKinds } from "./kinds/norm.js";
import { poolKinds } from "./kinds/pool.js";
import { recurrentKinds } from "./kinds/recurrent.js";
import { shapeKinds } from "./kinds/shape.js";

const families = [
  denseKinds,
  convKinds,
  poolKinds,
  shapeKinds,
  embeddingKinds,
  normKinds,
  attentionKinds,
  recurrentKinds,
  containerKinds,
  activationKinds,
] as const;

/** Every kind's definition, by name, in the order of the language reference. */
export const kinds = {
  ...denseKinds,
  ...convKinds,
  ...poolKinds,
  ...shapeKinds,
  ...embeddingKinds,
  ...normKinds,
  ...attentionKinds,
  ...recurrentKinds,
  ...containerKinds,
  ...activationKinds,
};

type Kinds = typeof kinds;

/** Every layer kind a spec may call, aliases included. */
export type LayerKind = keyof Kinds;

/** Kinds that are an op of their own: each needs a kernel. */
export type OpKind = { [K in LayerKind]: Kinds[K] extends OpKindDef ? K : never }[LayerKind];
/** Kinds with a body, lowered by the analysis engine. */
export type ContainerKind = { [K in LayerKind]: Kinds[K] extends ContainerKindDef ? K : never }[LayerKind];
/** Other names of kinds (`swish`). */
export type AliasKind = { [K in LayerKind]: Kinds[K] extends AliasKindDef ? K : never }[LayerKind];

// An alias must name a kind that is not itself an alias: a wrong target does not compile.
const aliasTargets: { readonly [K in AliasKind]: Exclude<LayerKind, AliasKind> } = {
  swish: kinds.swish.aliasOf,
  hardsigmoid: kinds.hardsigmoid.aliasOf,
};

/** Ops the analysis makes that are no layer kind: value arithmetic (`a + b`, `a - b`, `a * b`, a residual's sum)
 *  and the weighted sum of a mixture of experts' outputs. Each needs a kernel too. */
export const internalOps = {
  add: { positions: "apart" },
  sub: { positions: "apart" },
  mul: { positions: "apart" },
  moe_combine: { positions: "apart" },
} as const satisfies Readonly<Record<string, { readonly positions: PositionUse }>>;

export type InternalOp = keyof typeof internalOps;

/** Every op kind of the IR: what the code generator's kernel table is keyed by. */
export type EmittedKind = OpKind | InternalOp;

export function isLayerKind(name: string): name is LayerKind {
  return Object.hasOwn(kinds, name);
}

/** The definition of a kind with its alias resolved (undefined for a name that is no kind). */
export function kindDef(name: string): OpKindDef | ContainerKindDef | undefined {
  if (!isLayerKind(name)) return undefined;
  const def: KindDef = kinds[name];
  if (def.form !== "alias") return def;
  return kinds[aliasTargets[name as AliasKind]];
}

/** The op definition of an op kind (aliases resolved), or undefined for a container or an unknown name. */
export function opDef(name: string): OpKindDef | undefined {
  const def = kindDef(name);
  return def?.form === "op" ? def : undefined;
}

/** How an op of the IR uses positions (`PositionUse`): its kind's, or an internal op's. */
export function positionUse(kind: string): PositionUse | undefined {
  if (Object.hasOwn(internalOps, kind)) return internalOps[kind as InternalOp].positions;
  return opDef(kind)?.positions;
}

/** The signature and traits of each kind, as the resolver, the language server and messages read them
 *  (`layers.ts`); an alias has its target's, with `aliasOf` set. */
export function entryOf(kind: LayerKind): LayerEntry {
  const def: KindDef = kinds[kind];
  const target = def.form === "alias" ? kindDef(def.aliasOf)! : def;
  return {
    kind,
    category: target.category,
    channels: target.channels,
    ...(target.channelsUnless ? { channelsUnless: target.channelsUnless } : {}),
    tokenIds: target.tokenIds,
    description: def.form === "alias" ? `alias of ${def.aliasOf}` : target.description,
    args: target.args,
    options: target.options,
    body: target.body,
    ...(def.form === "alias" ? { aliasOf: def.aliasOf } : {}),
  };
}

/** The number of kinds each family file defines, for the test that no two families define one name. */
export const familySizes: readonly number[] = families.map((f) => Object.keys(f).length);
