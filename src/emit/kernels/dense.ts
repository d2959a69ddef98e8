// Dense (fully connected) layers: y = x Wᵀ + b over the last axis, W stored [out, in] like PyTorch; or,
// with `layout = in_out` (HF `Conv1D`), y = x W + b with W stored [in, out].
//
// Two code shapes, chosen by size (both timed on these machines by the width sweep of bench/workloads.mjs,
// results in bench/latest.txt: unrolled wins up to 16–32 wide; from 64 wide the unrolled function passes
// V8's bytecode limit for optimization and runs 35–70× slower, see emit/module.ts):
// - at most `unrollLimit` multiply–adds: straight-line code, one expression per output with every weight
//   index a constant, inside the loop over rows;
// - above it: a call to the module's shared matrix kernel (`denseTiledSource` below), which convolutions
//   and attention projections use too: packed 2 × 4 register-tiled products for 8 or more rows and
//   outputs, register tiles over the weight rows as they are (PyTorch's [out, in] layout) otherwise.
// Rows are every leading position: the batch times the sequence positions, if any.
// On the WebAssembly target, products above the unroll limit run on the SIMD kernels (wasm/dense.ts) when
// the parameters live in their memory: [out, in] weights directly, [in, out] ones by transposition
// (wasm/target.ts inOutKernels), nothing packed.
import type { EmitCtx, Kernel } from "../kernel.js";

function dims(c: EmitCtx) {
  const inShape = c.inShapes[0]!;
  const IN = inShape[inShape.length - 1]!;
  const OUT = c.outShapes[0]![c.outShapes[0]!.length - 1]!;
  const rowsPerSample = c.inSizes[0]! / IN;
  const W = c.param("weight");
  const B = c.hasParam("bias") ? c.param("bias") : -1;
  // Read [in, out]: `layout = in_out`, or a transposed tie of an [out, in] matrix (EmitCtx.transposedParam).
  const inOut = c.transposedParam("weight");
  /** The index of weight element (output o, input i). */
  const w = (o: number, i: number) => (inOut ? W + i * OUT + o : W + o * IN + i);
  return { IN, OUT, rowsPerSample, W, B, inOut, w };
}

/** An element as the target of `=` or of `+=` (read too, so asserted present: `noUncheckedIndexedAccess`). */
function target(element: string, op: string): string {
  return op === "=" ? `${element} =` : `${element}! ${op}`;
}

function rows(rowsPerSample: number): string {
  return rowsPerSample === 1 ? "n" : `n * ${rowsPerSample}`;
}

export const dense: Kernel = {
  forward(c) {
    const { IN, OUT, rowsPerSample, W, B, inOut, w } = dims(c);
    const x = c.x[0]!;
    const y = c.y[0]!;
    const R = rows(rowsPerSample);
    if (IN * OUT <= c.options.unrollLimit) {
      const lines: string[] = [];
      for (let i = 0; i < IN; i++) lines.push(`const x${i} = ${x}[xo + ${i}]!;`);
      for (let o = 0; o < OUT; o++) {
        const terms = Array.from({ length: IN }, (_, i) => `x${i} * ${c.weight(w(o, i))}`);
        if (B >= 0) terms.unshift(c.weight(B + o));
        lines.push(`${y}[yo + ${o}] = ${terms.join(" + ") || "0"};`);
      }
      return `// ${c.op.name}: dense ${IN} → ${OUT}${inOut ? ", weight [in, out]" : ""}, unrolled
for (let r = 0, xo = 0, yo = 0; r < ${R}; r++, xo += ${IN}, yo += ${OUT}) {
${lines.join("\n")}
}`;
    }
    if (inOut && c.wasmDense) {
      const k = c.wasmDense(IN, OUT, B >= 0, true, true);
      return `// ${c.op.name}: dense ${IN} → ${OUT}, weight [in, out], WebAssembly SIMD when the parameters live in its memory, else packed
if (arena) wasmDenseInOutForward(arena, ${k}, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${B});
else denseInOutForward(p, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${OUT}, ${B}, 0, ${OUT}, 1);`;
    }
    if (inOut) {
      return `// ${c.op.name}: dense ${IN} → ${OUT}, weight [in, out], packed product (shared kernel below)
denseInOutForward(p, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${OUT}, ${B}, 0, ${OUT}, 1);`;
    }
    if (c.wasmDense) {
      const k = c.wasmDense(IN, OUT, B >= 0);
      return `// ${c.op.name}: dense ${IN} → ${OUT}, WebAssembly SIMD when the parameters live in its memory, else register-tiled
if (arena) wasmDenseForward(arena, ${k}, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${B});
else denseTiledForward(p, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, 0, ${OUT}, 1);`;
    }
    return `// ${c.op.name}: dense ${IN} → ${OUT}, register-tiled (shared kernel below)
denseTiledForward(p, ${x}, ${y}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, 0, ${OUT}, 1);`;
  },

  backward(c) {
    const { IN, OUT, rowsPerSample, W, B, inOut, w } = dims(c);
    const x = c.x[0]!;
    const gx = c.gx[0]!;
    const gy = c.gy[0]!;
    const R = rows(rowsPerSample);
    if (IN * OUT <= c.options.unrollLimit) {
      // The first writer of a gradient assigns it (the module then skips zeroing it): the input gradient
      // row by row, the parameter gradients on the first row (later rows add to them).
      const gxOp = c.claimInputGrad(0) ? "=" : "+=";
      const gpAssign = c.claimParamGrads(
        B >= 0
          ? [
              [W, IN * OUT],
              [B, OUT],
            ]
          : [[W, IN * OUT]],
      );
      const body = (gpOp: string) => {
        const lines: string[] = [];
        for (let i = 0; i < IN; i++) lines.push(`const x${i} = ${x}[xo + ${i}]!;`);
        for (let o = 0; o < OUT; o++) {
          lines.push(`const d${o} = ${gy}[yo + ${o}]!;`);
          if (B >= 0) lines.push(`${target(`gp[${B + o}]`, gpOp)} d${o};`);
          for (let i = 0; i < IN; i++) lines.push(`${target(`gp[${w(o, i)}]`, gpOp)} d${o} * x${i};`);
        }
        const gxLines = Array.from({ length: IN }, (_, i) => {
          const terms = Array.from({ length: OUT }, (_, o) => `d${o} * ${c.weight(w(o, i))}`);
          return `${target(`${gx}[xo + ${i}]`, gxOp)} ${terms.join(" + ")};`;
        });
        lines.push(c.gxWanted[0] === "true" ? gxLines.join("\n") : `if (${c.gxWanted[0]}) {\n${gxLines.join("\n")}\n}`);
        return lines.join("\n");
      };
      if (gpAssign) {
        return `// ${c.op.name}: dense ${IN} → ${OUT}${inOut ? ", weight [in, out]," : ""} backward, unrolled: the first row assigns the parameter gradients
{
const xo = 0;
const yo = 0;
${body("=")}
}
for (let r = 1, xo = ${IN}, yo = ${OUT}; r < ${R}; r++, xo += ${IN}, yo += ${OUT}) {
${body("+=")}
}`;
      }
      return `// ${c.op.name}: dense ${IN} → ${OUT}${inOut ? ", weight [in, out]," : ""} backward, unrolled
for (let r = 0, xo = 0, yo = 0; r < ${R}; r++, xo += ${IN}, yo += ${OUT}) {
${body("+=")}
}`;
    }
    if (inOut && c.wasmDense) {
      const k = c.wasmDense(IN, OUT, B >= 0, true, true);
      return `// ${c.op.name}: dense ${IN} → ${OUT}, weight [in, out], backward, WebAssembly SIMD when the parameters and gradients live in its memory, else packed
if (arena) wasmDenseInOutBackward(arena, ${k}, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, ${c.gxWanted[0]});
else denseInOutBackward(p, gp, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${OUT}, ${B}, ${c.gxWanted[0]}, 0, ${OUT}, 1);`;
    }
    if (inOut) {
      return `// ${c.op.name}: dense ${IN} → ${OUT}, weight [in, out], backward, packed products (shared kernel below)
denseInOutBackward(p, gp, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${OUT}, ${B}, ${c.gxWanted[0]}, 0, ${OUT}, 1);`;
    }
    if (c.wasmDense) {
      const k = c.wasmDense(IN, OUT, B >= 0);
      return `// ${c.op.name}: dense ${IN} → ${OUT} backward, WebAssembly SIMD when the parameters and gradients live in its memory, else register-tiled
if (arena) wasmDenseBackward(arena, ${k}, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, ${c.gxWanted[0]});
else denseTiledBackward(p, gp, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, ${c.gxWanted[0]}, 0, ${OUT}, 1);`;
    }
    return `// ${c.op.name}: dense ${IN} → ${OUT} backward, register-tiled (shared kernel below)
denseTiledBackward(p, gp, ${x}, ${gx}, ${gy}, ${R}, ${IN}, ${OUT}, ${W}, ${B}, ${c.gxWanted[0]}, 0, ${OUT}, 1);`;
  },
};

/**
 * The looped dense kernels, emitted once per module and called by every dense op above the unroll limit
 * (so a model's source grows by one line per such layer, not by a kernel), and by convolutions over their
 * im2col buffers and attention's projections. Forward: with at least PACKED_ROWS rows and PACKED_OUT
 * outputs, a product on operands packed in doubles (2 × 4 register tiles); otherwise 4-row register tiles
 * over 4, 2 and 1 outputs, then, for the rows left over (batch 1), `T`-, 4- and 1-output tiles over one
 * row copied into doubles. Backward: two packed products (dW += gᵀx with db += Σ g, and dx += g W when
 * `dx`). `B` is the bias offset, or −1 for none. The output (forward) and the output
 * gradient (backward) are read through a strided view — element (row r, output o) at `y0 + r·yr + o·yc` —
 * so a dense layer passes (0, OUT, 1) and a convolution writes its channel-major planes directly (yr = 1,
 * yc = the plane).
 */
/** The shared dense kernels' source; without \`withForward\` (a module whose only products are the forward
 *  `packedGemm` of thin convolutions and backward passes) the forward entry and what only it reads are left
 *  out, and without \`withBackward\` (a module whose only products are [in, out] ones, which call
 *  `packedGemm` themselves) the backward entry, so that the module declares nothing it does not use. */
export function denseTiledSource(F: string, tileColumns: number, withForward = true, withBackward = true): string {
  const T = Math.max(1, tileColumns);
  const range = (k: number) => Array.from({ length: k }, (_, i) => i);
  const join = (xs: string[]) => xs.join(" ");
  /** Masked bases of the 4 rows of a row tile. */
  const bases4 = (first: string) =>
    join(
      range(4).map(
        (a) => `const x${a} = ${a > 0 ? `(x${a - 1} + IN) & M30` : first === "0" ? "0" : `${first} & M30`};`,
      ),
    );
  /** Σ over i of a tile of R rows × C outputs starting at output \`o\`; \`loop\` closes with \`o += C\`.
   *  Row bases are masked to 30 bits (no-ops: the caller checked every offset below 2^30) so that V8 knows
   *  the indices are non-negative int32s and drops its overflow checks. A single row reads \`rowBuffer\`. */
  const forwardTile = (R: number, C: number, loop: string, src = "x"): string => {
    const rs = range(R);
    const cs = range(C);
    const bases = (v: string, first: string, k: number) =>
      join(range(k).map((j) => `const ${v}${j} = ${j === 0 ? `(${first}) & M30` : `(${v}${j - 1} + IN) & M30`};`));
    const read = (a: number) => (R === 1 ? "xs[i]!" : `${src}[x${a} + i]!`);
    const out = (a: number, b: number) => `yt${a === 0 ? "" : ` + ${a} * yr`}${b === 0 ? "" : ` + ${b} * yc`}`;
    return `${loop} {
      ${join(cs.map((b) => `const b${b} = B >= 0 ? p[B + o${b === 0 ? "" : ` + ${b}`}]! : 0;`))}
      ${join(rs.flatMap((a) => cs.map((b) => `let t${a}_${b} = b${b};`)))}
      ${bases("w", "W + o * IN", C)}
      for (let i = 0; i < IN; i++) {
        ${join(cs.map((b) => `const u${b} = p[w${b} + i]!;`))}
        ${join(rs.map((a) => `const v${a} = ${read(a)};`))}
        ${join(rs.flatMap((a) => cs.map((b) => `t${a}_${b} += v${a} * u${b};`)))}
      }
      const yt = yo + o * yc;
      ${join(rs.flatMap((a) => cs.map((b) => `y[${out(a, b)}] = t${a}_${b};`)))}
    }`;
  };
  const rowConstants = `/** Largest row the single-row tiles copy into \`rowBuffer\`; longer rows take the plain loops. */
const ROW_MAX = 16384;
/** One input row in doubles: a module-level constant, which V8 folds into the code (its address and its
 *  bounds), and the row's float32 → double conversions happen once instead of once per output. */
const rowBuffer = new Float64Array(ROW_MAX);`;
  const forward = `/** y = x Wᵀ + b over \`rows\` rows of x (IN wide): a packed product for many rows and outputs, else
 *  4 × 4 register tiles (4 × 2, 4 × 1 at the edge),
 *  then ${T}-column tiles for the rows left over; y element (r, o) at y0 + r·yr + o·yc. */
function denseTiledForward(p: ${F}, x: ${F}, y: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, y0: number, yr: number, yc: number): void {
  // The tiles mask the weight's and x's row offsets (y's are not masked; the packed product checks its own).
  if (!fits30(W, OUT, IN, IN, 1) || !fits30(0, rows, IN, IN, 1)) {
    densePlainForward(p, x, y, 0, rows, IN, OUT, W, B, y0, yr, yc);
    return;
  }
  if (rows >= PACKED_ROWS && OUT >= PACKED_OUT) {
    // many rows: y starts as the bias, then the packed product adds x Wᵀ (W read as its transpose)
    for (let r = 0, yo = y0; r < rows; r++, yo += yr) {
      for (let o = 0, yi = yo; o < OUT; o++, yi += yc) y[yi] = B >= 0 ? p[B + o]! : 0;
    }
    packedGemm(y, y0, yr, yc, rows, OUT, IN, x, 0, IN, 1, p, W, 1, IN, y, -1);
    return;
  }
  let r = 0;
  if (4 * IN <= ROW_MAX) {
    // 4 rows at a time copied into rowBuffer: each input converts to a double once, not once per tile
    const xs = rowBuffer;
    for (let xo = 0, yo = y0; r + 4 <= rows; r += 4, xo += 4 * IN, yo += 4 * yr) {
      for (let i = 0, e = 4 * IN; i < e; i++) xs[i] = x[xo + i]!;
      ${bases4("0")}
      let o = 0;
      ${forwardTile(4, 4, "for (; o + 4 <= OUT; o += 4)", "xs")}
      ${forwardTile(4, 2, "for (; o + 2 <= OUT; o += 2)", "xs")}
      ${forwardTile(4, 1, "for (; o < OUT; o++)", "xs")}
    }
  } else {
    for (let xo = 0, yo = y0; r + 4 <= rows; r += 4, xo += 4 * IN, yo += 4 * yr) {
      ${bases4("xo")}
      let o = 0;
      ${forwardTile(4, 4, "for (; o + 4 <= OUT; o += 4)")}
      ${forwardTile(4, 2, "for (; o + 2 <= OUT; o += 2)")}
      ${forwardTile(4, 1, "for (; o < OUT; o++)")}
    }
  }
  if (IN > ROW_MAX) {
    densePlainForward(p, x, y, r, rows, IN, OUT, W, B, y0, yr, yc);
    return;
  }
  const xs = rowBuffer;
  for (let xo = r * IN, yo = y0 + r * yr; r < rows; r++, xo += IN, yo += yr) {
    for (let i = 0; i < IN; i++) xs[i] = x[xo + i]!;
    let o = 0;
    ${forwardTile(1, T, `for (; o + ${T} <= OUT; o += ${T})`)}
    ${T > 4 ? forwardTile(1, 4, "for (; o + 4 <= OUT; o += 4)") : ""}
    ${forwardTile(1, 1, "for (; o < OUT; o++)")}
  }
}

/** The same product in plain loops, rows \`from\`…\`rows\` (rows longer than ROW_MAX, indices past M30). */
function densePlainForward(p: ${F}, x: ${F}, y: ${F}, from: number, rows: number, IN: number, OUT: number, W: number, B: number, y0: number, yr: number, yc: number): void {
  for (let r = from; r < rows; r++) {
    for (let o = 0; o < OUT; o++) {
      let s = B >= 0 ? p[B + o]! : 0;
      for (let i = 0, xo = r * IN, w = W + o * IN; i < IN; i++) s += x[xo + i]! * p[w + i]!;
      y[y0 + r * yr + o * yc] = s;
    }
  }
}
`;
  const packedLimits = `/** Forward products with at least this many rows run on packed operands (packing costs one pass over them)… */
const PACKED_ROWS = 8;
/** … and at least this many outputs (thinner products, like a 6-channel convolution, waste the 4-column
 *  panels' padding: the 4-row tiles do better there). */
const PACKED_OUT = 8;`;
  return `${withForward ? `${rowConstants}\n` : ""}/** The fast paths' index limit: an index at most M30 = 2^30 − 1, masked with it (\`i & M30\`), is unchanged
 *  and known to V8 as a non-negative int32, which drops its overflow checks. A larger index would wrap
 *  (2^30 becomes 0): every fast path checks the whole index range of its operands with \`fits30\` on every
 *  call — the batch included, through the row count and offsets it is given — and runs plain loops,
 *  which mask nothing, when one does not fit. */
const M30 = 0x3fffffff;

/** Whether every index s0 + a·sa + k·sk (a < M, k < K; offsets and strides ≥ 0) is at most M30. Exact
 *  in doubles: every term is below 2^53. */
function fits30(s0: number, M: number, sa: number, K: number, sk: number): boolean {
  return s0 + (M - 1) * sa + (K - 1) * sk <= M30;
}

${withForward ? `${forward}\n` : ""}/** Elements of each pack below: 256 KB of doubles, so that a block of the right operand stays in cache. */
const PACK = 32768;
${withForward ? `${packedLimits}\n` : ""}/** The operands of a packed product, in doubles: the left one in \`packA\` (panels of 2 rows), the right one
 *  in \`packB\` (panels of 4 columns), so that the register tile reads both contiguously. */
const packA = new Float64Array(PACK);
const packB = new Float64Array(PACK);

/** packA ← A(a, k) = s[s0 + a·sa + k·sk] (a < M, k < K; an odd M padded with a zero row); and, when
 *  B ≥ 0, g[B + a] += Σ_k A(a, k) (a bias gradient comes free with the packing). */
function packRows(s: ${F}, s0: number, sa: number, sk: number, M: number, K: number, g: ${F}, B: number): void {
  const A = packA;
  for (let a = 0; a < M; a++) {
    let t = 0;
    for (let k = 0, i = (s0 + a * sa) & M30, d = ((a >> 1) * 2 * K + (a & 1)) & M30; k < K; k++, i = (i + sk) & M30, d = (d + 2) & M30) {
      const v = s[i]!;
      A[d] = v;
      t += v;
    }
    if (B >= 0) g[B + a]! += t;
  }
  if (M & 1) for (let k = 0, d = (M - 1) * K + 1; k < K; k++, d += 2) A[d] = 0;
}

/** packB ← B(k, b) = s[s0 + k·sk + b·sb] (k < K, b < N) at (b & ~3)·K + 4k + (b & 3), padded to 4 columns. */
function packCols(s: ${F}, s0: number, sk: number, sb: number, K: number, N: number): void {
  const P = packB;
  const sb2 = 2 * sb;
  const sb3 = 3 * sb;
  for (let b = 0; b < N; b += 4) {
    const n = N - b;
    let d = (b * K) & M30;
    if (n >= 4) {
      for (let k = 0, i = (s0 + b * sb) & M30; k < K; k++, i = (i + sk) & M30, d = (d + 4) & M30) {
        P[d] = s[i]!; P[d + 1] = s[i + sb]!; P[d + 2] = s[i + sb2]!; P[d + 3] = s[i + sb3]!;
      }
    } else {
      for (let k = 0, i = (s0 + b * sb) & M30; k < K; k++, i = (i + sk) & M30, d = (d + 4) & M30) {
        P[d] = s[i]!; P[d + 1] = n > 1 ? s[i + sb]! : 0; P[d + 2] = n > 2 ? s[i + sb2]! : 0; P[d + 3] = 0;
      }
    }
  }
}

/** C[c0 + a·cr + b·cc] += Σ_k A(a, k)·B(k, b) over the two packs (a < M, b < N), in 2 × 4 register tiles
 *  (8 accumulators: more would spill). */
function packedProduct(C: ${F}, c0: number, cr: number, cc: number, M: number, N: number, K: number): void {
  const A = packA;
  const P = packB;
  const c2 = 2 * cc;
  const c3 = 3 * cc;
  for (let a = 0; a < M; a += 2) {
    const ia = (a * K) & M30;
    const ea = (ia + 2 * K) & M30;
    for (let b = 0; b < N; b += 4) {
      let t00 = 0, t01 = 0, t02 = 0, t03 = 0, t10 = 0, t11 = 0, t12 = 0, t13 = 0;
      for (let i = ia, j = (b * K) & M30; i < ea; i += 2, j = (j + 4) & M30) {
        const u0 = A[i]!, u1 = A[i + 1]!, v0 = P[j]!, v1 = P[j + 1]!, v2 = P[j + 2]!, v3 = P[j + 3]!;
        t00 += u0 * v0; t01 += u0 * v1; t02 += u0 * v2; t03 += u0 * v3;
        t10 += u1 * v0; t11 += u1 * v1; t12 += u1 * v2; t13 += u1 * v3;
      }
      const c = (c0 + a * cr + b * cc) & M30;
      const d = (c + cr) & M30;
      const n = N - b;
      const two = a + 1 < M;
      if (n >= 4) {
        C[c]! += t00; C[c + cc]! += t01; C[c + c2]! += t02; C[c + c3]! += t03;
        if (two) { C[d]! += t10; C[d + cc]! += t11; C[d + c2]! += t12; C[d + c3]! += t13; }
      } else {
        C[c]! += t00; if (n > 1) C[c + cc]! += t01; if (n > 2) C[c + c2]! += t02;
        if (two) { C[d]! += t10; if (n > 1) C[d + cc]! += t11; if (n > 2) C[d + c2]! += t12; }
      }
    }
  }
}

/** C[c0 + a·cr + b·cc] += Σ_k sa[a0 + a·as + k·ak] · sb[b0 + k·bk + b·bb] (a < M, b < N, k < K), in
 *  blocks that fit the packs (K ≤ 1024 at a time, then M and N); g[B + a] += Σ_k sa[…] when B ≥ 0. */
function packedGemm(C: ${F}, c0: number, cr: number, cc: number, M: number, N: number, K: number, sa: ${F}, a0: number, as: number, ak: number, sb: ${F}, b0: number, bk: number, bb: number, g: ${F}, B: number): void {
  // packRows, packCols and packedProduct mask the indices of A, B and C.
  if (!fits30(c0, M, cr, N, cc) || !fits30(a0, M, as, K, ak) || !fits30(b0, K, bk, N, bb)) {
    plainGemm(C, c0, cr, cc, M, N, K, sa, a0, as, ak, sb, b0, bk, bb, g, B);
    return;
  }
  const kc = Math.min(K, 1024);
  const mc = Math.min(M, (PACK / kc) & ~1);
  const nc = Math.min(N, (PACK / kc) & ~3);
  for (let k = 0; k < K; k += kc) {
    const kn = Math.min(kc, K - k);
    for (let a = 0; a < M; a += mc) {
      const mn = Math.min(mc, M - a);
      packRows(sa, a0 + a * as + k * ak, as, ak, mn, kn, g, B >= 0 ? B + a : -1);
      for (let b = 0; b < N; b += nc) {
        const nn = Math.min(nc, N - b);
        packCols(sb, b0 + k * bk + b * bb, bk, bb, kn, nn);
        packedProduct(C, c0 + a * cr + b * cc, cr, cc, mn, nn, kn);
      }
    }
  }
}

/** The same product and bias gradient in plain loops (indices past M30). */
function plainGemm(C: ${F}, c0: number, cr: number, cc: number, M: number, N: number, K: number, sa: ${F}, a0: number, as: number, ak: number, sb: ${F}, b0: number, bk: number, bb: number, g: ${F}, B: number): void {
  for (let a = 0; a < M; a++) {
    const ai = a0 + a * as;
    for (let b = 0; b < N; b++) {
      let t = 0;
      for (let k = 0, bi = b0 + b * bb; k < K; k++) t += sa[ai + k * ak]! * sb[bi + k * bk]!;
      C[c0 + a * cr + b * cc]! += t;
    }
    if (B >= 0) {
      let t = 0;
      for (let k = 0; k < K; k++) t += sa[ai + k * ak]!;
      g[B + a]! += t;
    }
  }
}
${
  withBackward
    ? `
/** Dense backward over \`rows\` rows (gradients accumulate): dW += gᵀx and db += Σ g, then dx += g W only
 *  when \`dx\` (a training step needs no gradient of the model input); two packed products, each gradient
 *  element read and written once per block. gy element (r, o) at g0 + r·gr + o·gc. */
function denseTiledBackward(p: ${F}, gp: ${F}, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, dx: boolean, g0: number, gr: number, gc: number): void {
  // Only through the packed products, which check their operands; these plain loops are the faster
  // fallback when any of them does not fit.
  if (!fits30(W, OUT, IN, IN, 1) || !fits30(0, rows, IN, IN, 1) || !fits30(g0, rows, gr, OUT, gc)) {
    densePlainBackward(p, gp, x, gx, gy, rows, IN, OUT, W, B, dx, g0, gr, gc);
    return;
  }
  packedGemm(gp, W, IN, 1, OUT, IN, rows, gy, g0, gc, gr, x, 0, IN, 1, gp, B);
  if (dx) packedGemm(gx, 0, IN, 1, rows, IN, OUT, gy, g0, gr, gc, p, W, IN, 1, gp, -1);
}

/** The same gradients in plain loops (indices past M30). */
function densePlainBackward(p: ${F}, gp: ${F}, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, dx: boolean, g0: number, gr: number, gc: number): void {
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < OUT; o++) {
      const g = gy[g0 + r * gr + o * gc]!;
      if (B >= 0) gp[B + o]! += g;
      for (let i = 0, w = W + o * IN, xo = r * IN; i < IN; i++) {
        gp[w + i]! += g * x[xo + i]!;
        if (dx) gx[xo + i]! += g * p[w + i]!;
      }
    }
  }
}`
    : ""
}`;
}

/**
 * The matrix kernels of weights stored [in, out] (`layout = in_out`, Hugging Face's `Conv1D`), emitted only
 * in a module that has such a matrix, after `denseTiledSource` (whose packed products they call). Element
 * (input i, output o) of W is at `W + i·ld + o`: `ld` is OUT for a whole matrix, wider for a column block
 * of a fused one (attention's `c_attn`, [D, 3·D], holds q, k and v side by side). Forward y = x W + b
 * (y element (r, o) at y0 + r·yr + o·yc); backward dW += xᵀ g as (dWᵀ += gᵀ x, so that db += Σ g comes with
 * the packing), and dx += g Wᵀ when `dx`. Every product goes through `packedGemm`, which takes any strides
 * (and checks its index range, falling back to plain loops).
 */
export function denseInOutSource(F: string): string {
  return `/** y = x W + b over \`rows\` rows of x (IN wide), W stored [in, out] with row stride \`ld\`; y element (r, o)
 *  at y0 + r·yr + o·yc. */
function denseInOutForward(p: ${F}, x: ${F}, y: ${F}, rows: number, IN: number, OUT: number, W: number, ld: number, B: number, y0: number, yr: number, yc: number): void {
  for (let r = 0, yo = y0; r < rows; r++, yo += yr) {
    for (let o = 0, yi = yo; o < OUT; o++, yi += yc) y[yi] = B >= 0 ? p[B + o]! : 0;
  }
  packedGemm(y, y0, yr, yc, rows, OUT, IN, x, 0, IN, 1, p, W, ld, 1, y, -1);
}

/** Its gradients (accumulated): dW (element (i, o) at W + i·ld + o) += xᵀ g and db += Σ g, then dx += g Wᵀ
 *  only when \`dx\`. gy element (r, o) at g0 + r·gr + o·gc. */
function denseInOutBackward(p: ${F}, gp: ${F}, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, ld: number, B: number, dx: boolean, g0: number, gr: number, gc: number): void {
  packedGemm(gp, W, 1, ld, OUT, IN, rows, gy, g0, gc, gr, x, 0, IN, 1, gp, B);
  if (dx) packedGemm(gx, 0, IN, 1, rows, IN, OUT, gy, g0, gr, gc, p, W, 1, ld, gp, -1);
}`;
}
