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
denseTiledForward(p, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${B});`;
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
denseTiledBackward(p, gp, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, ${c.gxWanted[0]});`;
  },
};

/**
 * The looped dense kernels, emitted once per module and called by every dense op above the unroll limit
 * (so a model's source grows by one line per such layer, not by a kernel): forward in 4 × 4 register tiles
 * over rows and outputs, then `T`-column tiles for the rows left over (batch 1); backward in 4 × 4 blocks
 * (dW += gᵀx, db += g, dx += g W). `B` is the bias offset, or −1 for none.
 */
export function denseTiledSource(F: string, tileColumns: number): string {
  const T = Math.max(1, tileColumns);
  const quad = [0, 1, 2, 3];
  const acc = Array.from({ length: T }, (_, k) => `s${k}`);
  return `/** y = x Wᵀ + b over \`rows\` rows: 4 × 4 register tiles, then ${T}-column tiles. */
function denseTiledForward(p: ${F}, x: ${F}, y: ${F}, rows: number, IN: number, OUT: number, W: number, B: number): void {
  let r = 0;
  for (let xo = 0, yo = 0; r + 4 <= rows; r += 4, xo += 4 * IN, yo += 4 * OUT) {
    let o = 0;
    for (; o + 4 <= OUT; o += 4) {
      ${quad.map((b) => `const b${b} = B >= 0 ? p[B + o + ${b}] : 0;`).join(" ")}
      ${quad.flatMap((a) => quad.map((b) => `let t${a}${b} = b${b};`)).join(" ")}
      for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
        ${quad.map((b) => `const w${b} = p[w + ${b} * IN];`).join(" ")}
        ${quad.map((a) => `const v${a} = x[xo + ${a} * IN + i];`).join(" ")}
        ${quad.flatMap((a) => quad.map((b) => `t${a}${b} += v${a} * w${b};`)).join(" ")}
      }
      ${quad.flatMap((a) => quad.map((b) => `y[yo + ${a} * OUT + o + ${b}] = t${a}${b};`)).join(" ")}
    }
    for (; o < OUT; o++) {
      for (let a = 0; a < 4; a++) {
        let s = B >= 0 ? p[B + o] : 0;
        for (let i = 0, w = W + o * IN; i < IN; i++, w++) s += x[xo + a * IN + i] * p[w];
        y[yo + a * OUT + o] = s;
      }
    }
  }
  for (let xo = r * IN, yo = r * OUT; r < rows; r++, xo += IN, yo += OUT) {
    let o = 0;
    for (; o + ${T} <= OUT; o += ${T}) {
      ${acc.map((s, k) => `let ${s} = B >= 0 ? p[B + o + ${k}] : 0;`).join(" ")}
      for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
        const v = x[xo + i];
        ${acc.map((s, k) => `${s} += v * p[w + ${k} * IN];`).join(" ")}
      }
      ${acc.map((s, k) => `y[yo + o + ${k}] = ${s};`).join(" ")}
    }
    for (; o < OUT; o++) {
      let s = B >= 0 ? p[B + o] : 0;
      for (let i = 0, w = W + o * IN; i < IN; i++, w++) s += x[xo + i] * p[w];
      y[yo + o] = s;
    }
  }
}

/** Dense backward over \`rows\` rows, in 4 × 4 blocks of rows and outputs (gradients accumulate):
 *  dW += gᵀx, db += g, and dx += g W only when \`dx\` (a training step needs no gradient of the model input). */
function denseTiledBackward(p: ${F}, gp: ${F}, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, dx: boolean): void {
  let r = 0;
  for (let xo = 0, yo = 0; r + 4 <= rows; r += 4, xo += 4 * IN, yo += 4 * OUT) {
    let o = 0;
    for (; o + 4 <= OUT; o += 4) {
      ${quad.flatMap((a) => quad.map((b) => `const g${a}${b} = gy[yo + ${a} * OUT + o + ${b}];`)).join(" ")}
      if (B >= 0) { ${quad.map((b) => `gp[B + o + ${b}] += g0${b} + g1${b} + g2${b} + g3${b};`).join(" ")} }
      if (dx) {
        for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
          ${quad.map((a) => `const x${a} = x[xo + ${a} * IN + i];`).join(" ")}
          ${quad.map((b) => `const w${b} = p[w + ${b} * IN];`).join(" ")}
          ${quad.map((b) => `gp[w + ${b} * IN] += g0${b} * x0 + g1${b} * x1 + g2${b} * x2 + g3${b} * x3;`).join(" ")}
          ${quad.map((a) => `gx[xo + ${a} * IN + i] += g${a}0 * w0 + g${a}1 * w1 + g${a}2 * w2 + g${a}3 * w3;`).join(" ")}
        }
      } else {
        for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
          ${quad.map((a) => `const x${a} = x[xo + ${a} * IN + i];`).join(" ")}
          ${quad.map((b) => `gp[w + ${b} * IN] += g0${b} * x0 + g1${b} * x1 + g2${b} * x2 + g3${b} * x3;`).join(" ")}
        }
      }
    }
    for (; o < OUT; o++) {
      for (let a = 0; a < 4; a++) {
        const g = gy[yo + a * OUT + o];
        if (B >= 0) gp[B + o] += g;
        for (let i = 0, w = W + o * IN; i < IN; i++, w++) {
          gp[w] += g * x[xo + a * IN + i];
          if (dx) gx[xo + a * IN + i] += g * p[w];
        }
      }
    }
  }
  for (let xo = r * IN, yo = r * OUT; r < rows; r++, xo += IN, yo += OUT) {
    for (let o = 0; o < OUT; o++) {
      const g = gy[yo + o];
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
