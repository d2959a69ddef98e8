// Kinds with a body, walked and lowered by the analysis engine (src/analyze/analyze.ts): `moe`, `residual`.
import { dNone, p, positive } from "../params.js";
import { container, featuresLast, type KindFamily } from "../kind.js";

export const containerKinds = {
  moe: container({
    category: "container",
    ...featuresLast,
    description: "a router dense(experts) and `experts` copies of the body; top_k run per token",
    args: [p("experts", positive), p("top_k", positive)],
    options: [],
    lowering: "a router `dense(experts, bias = false)`, each expert's body, and `moe_combine`",
    doc: { note: "each expert is the body, with its own parameters" },
  }),
  residual: container({
    category: "container",
    channels: "none",
    tokenIds: "computes",
    description: "x + body(x), or shortcut(x) + body(x)",
    args: [],
    options: [p("shortcut", { kind: "body" }, dNone)],
    lowering: "its body (and its shortcut's), then `add`",
    doc: {},
  }),
} satisfies KindFamily;
