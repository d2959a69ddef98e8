// Dense (fully connected) layers: y = x Wᵀ + b over the last axis, W stored [out, in] like PyTorch.
//
// Two code shapes, chosen by size (TARGETS.md measured both on these machines):
// - at most `unrollLimit` multiply–adds: straight-line code, one expression per output with every weight
//   index a constant, inside the loop over rows;
// - above it: a loop over output tiles of `tileColumns` outputs with one accumulator each, the inner loop
//   over the contiguous weight rows (PyTorch's [out, in] layout is already the packed panel for y = x Wᵀ).
// Rows are every leading position: the batch times the sequence positions, if any.
import type { EmitCtx, Kernel } from "../kernel.js";

function dims(c: EmitCtx) {
  const inShape = c.inShapes[0]!;
  const IN = inShape[inShape.length - 1]!;
  const OUT = c.outShapes[0]![c.outShapes[0]!.length - 1]!;
  const rowsPerSample = c.inSizes[0]! / IN;
  const W = c.param("weight");
  const B = c.hasParam("bias") ? c.param("bias") : -1;
  return { IN, OUT, rowsPerSample, W, B };
}

function rows(rowsPerSample: number): string {
  return rowsPerSample === 1 ? "n" : `n * ${rowsPerSample}`;
}

export const dense: Kernel = {
  forward(c) {
    const { IN, OUT, rowsPerSample, W, B } = dims(c);
    const x = c.x[0]!;
    const y = c.y[0]!;
    const R = rows(rowsPerSample);
    if (IN * OUT <= c.options.unrollLimit) {
      const lines: string[] = [];
      for (let i = 0; i < IN; i++) lines.push(`const x${i} = ${x}[xo + ${i}];`);
      for (let o = 0; o < OUT; o++) {
        const terms = Array.from({ length: IN }, (_, i) => `x${i} * ${c.weight(W + o * IN + i)}`);
        if (B >= 0) terms.unshift(c.weight(B + o));
        lines.push(`${y}[yo + ${o}] = ${terms.join(" + ") || "0"};`);
      }
      return `// ${c.op.name}: dense ${IN} → ${OUT}, unrolled
for (let r = 0, xo = 0, yo = 0; r < ${R}; r++, xo += ${IN}, yo += ${OUT}) {
${lines.join("\n")}
}`;
    }
    return `// ${c.op.name}: dense ${IN} → ${OUT}, register-tiled (shared kernel below)
denseTiledForward(p, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, 0, ${OUT}, 1);`;
  },

  backward(c) {
    const { IN, OUT, rowsPerSample, W, B } = dims(c);
    const x = c.x[0]!;
    const gx = c.gx[0]!;
    const gy = c.gy[0]!;
    const R = rows(rowsPerSample);
    if (IN * OUT <= c.options.unrollLimit) {
      const lines: string[] = [];
      for (let i = 0; i < IN; i++) lines.push(`const x${i} = ${x}[xo + ${i}];`);
      for (let o = 0; o < OUT; o++) {
        lines.push(`const d${o} = ${gy}[yo + ${o}];`);
        if (B >= 0) lines.push(`gp[${B + o}] += d${o};`);
        for (let i = 0; i < IN; i++) lines.push(`gp[${W + o * IN + i}] += d${o} * x${i};`);
      }
      const gxLines = Array.from({ length: IN }, (_, i) => {
        const terms = Array.from({ length: OUT }, (_, o) => `d${o} * ${c.weight(W + o * IN + i)}`);
        return `${gx}[xo + ${i}] += ${terms.join(" + ")};`;
      });
      lines.push(c.gxWanted[0] === "true" ? gxLines.join("\n") : `if (${c.gxWanted[0]}) {\n${gxLines.join("\n")}\n}`);
      return `// ${c.op.name}: dense ${IN} → ${OUT} backward, unrolled
for (let r = 0, xo = 0, yo = 0; r < ${R}; r++, xo += ${IN}, yo += ${OUT}) {
${lines.join("\n")}
}`;
    }
    return `// ${c.op.name}: dense ${IN} → ${OUT} backward, register-tiled (shared kernel below)
denseTiledBackward(p, gp, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, ${c.gxWanted[0]}, 0, ${OUT}, 1);`;
  },
};

/**
 * The looped dense kernels, emitted once per module and called by every dense op above the unroll limit
 * (so a model's source grows by one line per such layer, not by a kernel), and by convolutions over their
 * im2col buffers. Forward: 4-row register tiles over 4, 2 and 1 outputs, then, for the rows left over
 * (batch 1), `T`-, 4- and 1-output tiles over one row. Backward: the same 4-row blocks (dW += gᵀx, db += g,
 * and dx += g W when `dx`). `B` is the bias offset, or −1 for none. The output (forward) and the output
 * gradient (backward) are read through a strided view — element (row r, output o) at `y0 + r·yr + o·yc` —
 * so a dense layer passes (0, OUT, 1) and a convolution writes its channel-major planes directly (yr = 1,
 * yc = the plane).
 */
export function denseTiledSource(F: string, tileColumns: number): string {
  const T = Math.max(1, tileColumns);
  const range = (k: number) => Array.from({ length: k }, (_, i) => i);
  const join = (xs: string[]) => xs.join(" ");
  /** Σ over i of a tile of R rows × C outputs starting at output `o`; `loop` closes with `o += C`. */
  const forwardTile = (R: number, C: number, loop: string): string => {
    const rs = range(R);
    const cs = range(C);
    const row = (a: number) => (R === 1 ? "xo" : `xo + ${a} * IN`);
    const col = (b: number) => (b === 0 ? "w" : `w + ${b} * IN`);
    const out = (a: number, b: number) => `yt${a === 0 ? "" : ` + ${a} * yr`}${b === 0 ? "" : ` + ${b} * yc`}`;
    return `${loop} {
      ${join(cs.map((b) => `const b${b} = B >= 0 ? p[B + o${b === 0 ? "" : ` + ${b}`}] : 0;`))}
      ${join(rs.flatMap((a) => cs.map((b) => `let t${a}_${b} = b${b};`)))}
      for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
        ${join(cs.map((b) => `const w${b} = p[${col(b)}];`))}
        ${join(rs.map((a) => `const v${a} = x[${row(a)} + i];`))}
        ${join(rs.flatMap((a) => cs.map((b) => `t${a}_${b} += v${a} * w${b};`)))}
      }
      const yt = yo + o * yc;
      ${join(rs.flatMap((a) => cs.map((b) => `y[${out(a, b)}] = t${a}_${b};`)))}
    }`;
  };
  /** Gradients of a 4-row block over C outputs starting at `o`. */
  const backwardTile = (C: number, loop: string): string => {
    const rs = range(4);
    const cs = range(C);
    const grad = (a: number, b: number) => `gt${a === 0 ? "" : ` + ${a} * gr`}${b === 0 ? "" : ` + ${b} * gc`}`;
    const col = (b: number) => (b === 0 ? "w" : `w + ${b} * IN`);
    return `${loop} {
      const gt = go + o * gc;
      ${join(rs.flatMap((a) => cs.map((b) => `const g${a}_${b} = gy[${grad(a, b)}];`)))}
      if (B >= 0) { ${join(cs.map((b) => `gp[B + o${b === 0 ? "" : ` + ${b}`}] += ${rs.map((a) => `g${a}_${b}`).join(" + ")};`))} }
      if (dx) {
        for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
          ${join(rs.map((a) => `const x${a} = x[xo + ${a} * IN + i];`))}
          ${join(cs.map((b) => `const w${b} = p[${col(b)}];`))}
          ${join(cs.map((b) => `gp[${col(b)}] += ${rs.map((a) => `g${a}_${b} * x${a}`).join(" + ")};`))}
          ${join(rs.map((a) => `gx[xo + ${a} * IN + i] += ${cs.map((b) => `g${a}_${b} * w${b}`).join(" + ")};`))}
        }
      } else {
        for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
          ${join(rs.map((a) => `const x${a} = x[xo + ${a} * IN + i];`))}
          ${join(cs.map((b) => `gp[${col(b)}] += ${rs.map((a) => `g${a}_${b} * x${a}`).join(" + ")};`))}
        }
      }
    }`;
  };
  return `/** y = x Wᵀ + b over \`rows\` rows of x (IN wide) in 4 × 4 register tiles (4 × 2, 4 × 1 at the edge),
 *  then ${T}-column tiles for the rows left over; y element (r, o) at y0 + r·yr + o·yc. */
function denseTiledForward(p: ${F}, x: ${F}, y: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, y0: number, yr: number, yc: number): void {
  let r = 0;
  for (let xo = 0, yo = y0; r + 4 <= rows; r += 4, xo += 4 * IN, yo += 4 * yr) {
    let o = 0;
    ${forwardTile(4, 4, "for (; o + 4 <= OUT; o += 4)")}
    ${forwardTile(4, 2, "for (; o + 2 <= OUT; o += 2)")}
    ${forwardTile(4, 1, "for (; o < OUT; o++)")}
  }
  for (let xo = r * IN, yo = y0 + r * yr; r < rows; r++, xo += IN, yo += yr) {
    let o = 0;
    ${forwardTile(1, T, `for (; o + ${T} <= OUT; o += ${T})`)}
    ${T > 4 ? forwardTile(1, 4, "for (; o + 4 <= OUT; o += 4)") : ""}
    ${forwardTile(1, 1, "for (; o < OUT; o++)")}
  }
}

/** Dense backward over \`rows\` rows (gradients accumulate): dW += gᵀx, db += g, and dx += g W only when
 *  \`dx\` (a training step needs no gradient of the model input). gy element (r, o) at g0 + r·gr + o·gc. */
function denseTiledBackward(p: ${F}, gp: ${F}, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, dx: boolean, g0: number, gr: number, gc: number): void {
  let r = 0;
  for (let xo = 0, go = g0; r + 4 <= rows; r += 4, xo += 4 * IN, go += 4 * gr) {
    let o = 0;
    ${backwardTile(4, "for (; o + 4 <= OUT; o += 4)")}
    ${backwardTile(1, "for (; o < OUT; o++)")}
  }
  for (let xo = r * IN, go = g0 + r * gr; r < rows; r++, xo += IN, go += gr) {
    for (let o = 0; o < OUT; o++) {
      const g = gy[go + o * gc];
      if (g === 0) continue;
      if (B >= 0) gp[B + o] += g;
      for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
        gp[w] += g * x[xo + i];
        if (dx) gx[xo + i] += g * p[w];
      }
    }
  }
}`;
}
