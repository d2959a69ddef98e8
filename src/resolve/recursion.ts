// Block recursion: cycles in the graph of calls between local blocks (recorded by flows.ts), each reported
// once, from the block defined first.
import { diagnostic } from "../diagnostics/diagnostic.js";
import type { MessageArgs } from "../diagnostics/message.js";
import { maxCycleSteps, type Edge, type ResolveContext } from "./context.js";

/** Finds cycles in the graph of calls between local blocks: an iterative depth-first search (a chain of
 *  thousands of blocks must not overflow the stack); each back edge closes one cycle. */
export function checkRecursion(cx: ResolveContext): void {
  const order = new Map<string, number>();
  for (const item of cx.file.items)
    if (item.kind === "Block" && !order.has(item.name.name)) order.set(item.name.name, order.size);
  const color = new Map<string, 1 | 2>();
  const seen = new Set<string>();
  for (const root of order.keys()) {
    if (color.has(root)) continue;
    // path[i] is a block on the current path; its `via` is the edge that entered it.
    const path: { block: string; via: Edge | undefined; next: number }[] = [{ block: root, via: undefined, next: 0 }];
    color.set(root, 1);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const edge = (cx.edges.get(top.block) ?? [])[top.next];
      if (!edge) {
        color.set(top.block, 2);
        path.pop();
        continue;
      }
      top.next++;
      const state = color.get(edge.to);
      if (state === 1) {
        const j = path.findIndex((f) => f.block === edge.to);
        const cycle: Edge[] = [];
        for (const f of path.slice(j + 1)) if (f.via) cycle.push(f.via);
        cycle.push(edge);
        reportCycle(cx, cycle, order, seen);
      } else if (state === undefined) {
        color.set(edge.to, 1);
        path.push({ block: edge.to, via: edge, next: 0 });
      }
    }
  }
}

function reportCycle(
  cx: ResolveContext,
  cycle: readonly Edge[],
  order: ReadonlyMap<string, number>,
  seen: Set<string>,
): void {
  let first = 0;
  cycle.forEach((e, i) => {
    if ((order.get(e.from) ?? 0) < (order.get(cycle[first]!.from) ?? 0)) first = i;
  });
  const edges = cycle.map((_, i) => cycle[(first + i) % cycle.length]!);
  const key = edges.map((e) => e.from).join(" ");
  if (seen.has(key)) return;
  seen.add(key);
  const head = edges[0]!;
  const through = edges.slice(1).map((e) => `\`${e.from}\``);
  let list: string;
  if (through.length > maxCycleSteps)
    list = `${through.slice(0, maxCycleSteps).join(", ")} and ${through.length - maxCycleSteps} more`;
  else if (through.length > 1) list = `${through.slice(0, -1).join(", ")} and ${through[through.length - 1]}`;
  else list = through[0] ?? "";
  const message: MessageArgs<"RecursiveBlock"> =
    through.length === 0 ? ["self", { name: head.from }] : ["through", { name: head.from, blocks: list }];
  cx.report(
    diagnostic("RecursiveBlock", head.site.span, message, {
      labels: edges
        .slice(0, maxCycleSteps)
        .map((e) => ({ span: e.site.span, message: `\`${e.from}\` calls \`${e.to}\`` })),
      help: "a block may not call itself, directly or through other blocks; use `repeat` to apply it several times",
    }),
  );
}
