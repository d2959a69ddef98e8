// Broadcasting of value arithmetic (`a + b`, `a - b`, `a * b`): NumPy's rule, which PyTorch follows
// (https://numpy.org/doc/stable/user/basics.broadcasting.html,
// https://pytorch.org/docs/1.13/notes/broadcasting.html), on per-sample shapes. The batch axis is never
// written and always matches (both values hold the same samples); the written axes are aligned from the
// last, the shorter shape taking size-1 axes in front, and two aligned sizes are compatible when they are
// equal or one of them is 1. A symbolic axis (`T ≤ 512`) is equal only to the same symbol: its length is
// chosen per call, so it may differ from any fixed size, 1 included (a 1 on the other side still broadcasts
// to it).
import type { Dim, Shape } from "../vocabulary/types.js";
import { showDim } from "../vocabulary/types.js";

export type Broadcast =
  | { readonly ok: true; readonly shape: Shape }
  /** `axis` counted from the end (−1 the last), as the language writes axes; `a`, `b` the two sizes. */
  | { readonly ok: false; readonly axis: number; readonly a: string; readonly b: string; readonly symbolic: boolean };

const one = (d: Dim | undefined): boolean => d === undefined || (d.size === 1n && d.symbol === undefined);

export function broadcastShapes(left: Shape, right: Shape): Broadcast {
  const rank = Math.max(left.length, right.length);
  const out: Dim[] = [];
  for (let k = 1; k <= rank; k++) {
    const a = left[left.length - k];
    const b = right[right.length - k];
    if (one(b)) out.push(a ?? b!);
    else if (one(a)) out.push(b!);
    else if (a!.size === b!.size && (a!.symbol ?? "") === (b!.symbol ?? "")) {
      // Equal: the left one, with the right one's marks of a sequence too.
      const seq = a!.seq || b!.seq;
      const positions = a!.positions || b!.positions;
      out.push({ ...a!, ...(seq ? { seq } : {}), ...(positions ? { positions } : {}) });
    } else {
      const symbolic = a!.symbol !== undefined || b!.symbol !== undefined;
      return { ok: false, axis: -k, a: showDim(a!), b: showDim(b!), symbolic };
    }
  }
  return { ok: true, shape: out.reverse() };
}
