// `nnc verify`: does this checkpoint hold exactly this model's tensors? What PyTorch's
// `model.load_state_dict(state_dict, strict=True)` would say before any training, and more: missing and
// unexpected tensors, wrong shapes (a transposed matrix recognized), dtypes that cannot hold the tensor, a
// prefix on every name (`net.`), ties stored once or twice (and whether the two copies agree), BatchNorm
// buffers, NaN and infinite values, and the parameter totals of both sides.
//
// The model's tensors come from the analysis, whose names are patterns: a repeated layer's weight is
// `h.{0..11}.attn.weight`, one record for twelve tensors. They are never spelled out: each checkpoint name
// is matched to its pattern (through their forms with every number replaced by a placeholder), so the cost follows the
// checkpoint's size, not the model's repeat counts; only the missing names that are shown are spelled out.
//
// PyTorch facts this follows (torch 1.13, checked by test/fixtures/safetensors/make.py):
// - `load_state_dict(strict=True)` fails on a missing or unexpected key and on a shape that differs; it
//   converts dtypes (a float64 or float16 tensor loads into a float32 parameter), so only a dtype that
//   cannot hold the values is a mismatch here: an integer weight, or a float `num_batches_tracked`.
// - BatchNorm fills in a missing `num_batches_tracked` with 0 when the state dict has no version metadata,
//   which a safetensors file never has (`_BatchNorm._load_from_state_dict`): reported as a note only.
// - A tied parameter appears under both names in `model.state_dict()`; `safetensors.torch.save_model` keeps
//   one. Either way is accepted; both copies present must hold the same values.
import { diagnostic, type Diagnostic, type Span } from "../diagnostics/diagnostic.js";
import type { MessageArgs } from "../diagnostics/message.js";
import { grouped } from "../diagnostics/numbers.js";
import type { LayerNode, TensorRecord } from "../analyze/records.js";
import type {
  VerifyDtypeMismatch,
  VerifyMissing,
  VerifyNonFinite,
  VerifyReport,
  VerifyShapeMismatch,
  VerifyTie,
  VerifyUnexpected,
} from "./report-types.js";
import {
  decodeFloats,
  dtypeSizes,
  isFloatDtype,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from "./safetensors.js";

export type {
  VerifyDtypeMismatch,
  VerifyMissing,
  VerifyNonFinite,
  VerifyReport,
  VerifyShapeMismatch,
  VerifyTie,
  VerifyUnexpected,
} from "./report-types.js";

/** What `verify` needs of an analyzed model. */
export interface VerifyModel {
  readonly name: string;
  readonly tensors: readonly TensorRecord[];
  readonly root: LayerNode;
  /** Parameters (ties counted once) and buffer elements, from the model's figures. */
  readonly params: bigint;
  readonly buffers: bigint;
  /** The model's ties (`tie = wte`, `tie = transpose(…)`), by pattern name. */
  readonly ties: readonly { readonly tensor: string; readonly target: string; readonly transposed: boolean }[];
}

export interface VerifyRequest {
  readonly model: VerifyModel;
  readonly header: SafetensorsHeader;
  /** Bytes `begin`–`end` (absolute file offsets, `end` exclusive) of the checkpoint; `undefined` when they
   *  cannot be read. Called for one tensor at a time, in pieces of at most 16 MiB. */
  readonly readBytes: (begin: number, end: number) => Uint8Array | undefined;
  /** Strip this prefix from the checkpoint names that start with it (`net.`). When absent, a prefix that
   *  would make names match is found, applied, and reported as a mismatch (NN7008). */
  readonly prefix?: string;
}

/** Missing tensors spelled out (and reported one by one); the rest are counted. */
const listedMissing = 50;
/** Diagnostics of one kind reported one by one; the rest are summed up in one. */
const shownPerKind = 20;

/** A pattern name cut at its dots: a literal segment, or a range `{from..to}` of copies. */
type Segment = string | { readonly from: bigint; readonly to: bigint };

interface Pattern {
  readonly record: TensorRecord;
  readonly segments: readonly Segment[];
  readonly copies: bigint;
  readonly index: number;
}

/** The placeholder of a range segment in a template key (no tensor name has it). */
const hole = "\u0000";

function segmentsOf(name: string): Segment[] {
  // Split at the dots outside `{from..to}`.
  const parts: string[] = [];
  let start = 0;
  let inRange = false;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "{") inRange = true;
    else if (c === "}") inRange = false;
    else if (c === "." && !inRange) {
      parts.push(name.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(name.slice(start));
  return parts.map((s) => {
    // `{0..-1}`: no copy at all (`moe` with no experts).
    const m = /^\{(\d+)\.\.(-?\d+)\}$/.exec(s);
    return m ? { from: BigInt(m[1]!), to: BigInt(m[2]!) } : s;
  });
}

/** The concrete name of a pattern's copy, its ranges replaced by `indices`. */
function nameOf(segments: readonly Segment[], indices: readonly bigint[]): string {
  let k = 0;
  return segments.map((s) => (typeof s === "string" ? s : String(indices[k++]))).join(".");
}

/** Every copy of a pattern, in order, lazily. */
function* copiesOf(segments: readonly Segment[]): Generator<string> {
  const ranges = segments.filter((s): s is Exclude<Segment, string> => typeof s !== "string");
  const indices = ranges.map((r) => r.from);
  if (ranges.some((r) => r.to < r.from)) return;
  for (;;) {
    yield nameOf(segments, indices);
    let k = ranges.length - 1;
    while (k >= 0 && indices[k] === ranges[k]!.to) {
      indices[k] = ranges[k]!.from;
      k--;
    }
    if (k < 0) return;
    indices[k]!++;
  }
}

const isNumber = (s: string): boolean => /^(0|[1-9][0-9]*)$/.test(s);

/** Finds the pattern a concrete name is a copy of. Names and patterns are grouped by their coarse form, every
 *  number segment and range replaced by a placeholder (`h.#.attn.weight`); a name is then compared segment
 *  by segment with the few patterns of its group. */
class Matcher {
  private readonly byCoarse = new Map<string, Pattern[]>();

  constructor(readonly patterns: readonly Pattern[]) {
    for (const p of patterns) {
      const key = p.segments.map((s) => (typeof s !== "string" || isNumber(s) ? hole : s)).join(".");
      const list = this.byCoarse.get(key);
      if (list) list.push(p);
      else this.byCoarse.set(key, [p]);
    }
  }

  match(name: string): Pattern | undefined {
    const parts = name.split(".");
    const key = parts.map((s) => (isNumber(s) ? hole : s)).join(".");
    for (const p of this.byCoarse.get(key) ?? []) {
      if (
        p.segments.every((s, i) =>
          typeof s === "string" ? s === parts[i] : BigInt(parts[i]!) >= s.from && BigInt(parts[i]!) <= s.to,
        )
      )
        return p;
    }
    return undefined;
  }
}

const bufferSuffixes = [".running_mean", ".running_var", ".num_batches_tracked"];

const showShape = (shape: readonly (bigint | number)[]): string => `[${shape.join(", ")}]`;

function elementsOf(shape: readonly (bigint | number)[]): bigint {
  return shape.reduce<bigint>((a, d) => a * BigInt(d), 1n);
}

/** The dtype a tensor needs: `I64` for a batch counter (int64 in PyTorch), a float type otherwise. */
function expectedDtype(t: TensorRecord): "I64" | "float" {
  return t.role === "buffer" && t.elementBytes === 8 ? "I64" : "float";
}

export function verifyCheckpoint(request: VerifyRequest): { report: VerifyReport; diagnostics: Diagnostic[] } {
  const { model, header } = request;
  const patterns: Pattern[] = model.tensors.map((record, index) => {
    const segments = segmentsOf(record.name);
    const copies = segments.reduce<bigint>(
      (a, s) => (typeof s === "string" ? a : s.to < s.from ? 0n : a * (s.to - s.from + 1n)),
      1n,
    );
    return { record, segments, copies, index };
  });
  const matcher = new Matcher(patterns);
  const spans = layerSpans(model.root);
  const kinds = layerKinds(model.root);
  const spanOf = (p: Pattern): Span | undefined => spans.get(p.record.name);

  // The prefix: given, or the one that makes the most unmatched names match.
  let prefix = request.prefix !== undefined ? { value: request.prefix, given: true } : undefined;
  if (prefix === undefined) {
    const unmatched = header.entries.filter((e) => !matcher.match(e.name));
    const candidates = new Map<string, number>();
    for (const e of unmatched) {
      const parts = e.name.split(".");
      for (let k = 1; k < parts.length && k <= 3; k++) {
        const p = `${parts.slice(0, k).join(".")}.`;
        if (candidates.size < 64 || candidates.has(p)) candidates.set(p, (candidates.get(p) ?? 0) + 1);
      }
    }
    let best: { value: string; gain: number } | undefined;
    for (const [p] of candidates) {
      const gain = unmatched.filter((e) => e.name.startsWith(p) && matcher.match(e.name.slice(p.length))).length;
      if (gain > 0 && (!best || gain > best.gain || (gain === best.gain && p.length < best.value.length)))
        best = { value: p, gain };
    }
    if (best) prefix = { value: best.value, given: false };
  }
  const stripped = (name: string): string =>
    prefix && name.startsWith(prefix.value) ? name.slice(prefix.value.length) : name;

  const diagnostics: Diagnostic[] = [];
  if (prefix && !prefix.given) {
    const n = header.entries.filter((e) => e.name.startsWith(prefix!.value)).length;
    const message: MessageArgs<"CheckpointPrefix"> =
      n === header.entries.length
        ? ["all", { prefix: prefix.value }]
        : ["some", { count: n, total: header.entries.length, prefix: prefix.value }];
    diagnostics.push(
      diagnostic("CheckpointPrefix", undefined, message, {
        help: `use prefix \`${prefix.value}\`: \`--prefix ${prefix.value}\` (the checks below are made with it stripped)`,
      }),
    );
  }
  if (prefix?.given && !header.entries.some((e) => e.name.startsWith(prefix!.value))) {
    diagnostics.push(diagnostic("PrefixUnused", undefined, { prefix: prefix.value }));
  }

  // Match every checkpoint tensor.
  const present = new Map<string, { entry: SafetensorsEntry; pattern: Pattern }>();
  const unexpected: VerifyUnexpected[] = [];
  const matchedPerPattern = new Map<Pattern, number>();
  const dtypes: Record<string, number> = {};
  let elements = 0n;
  for (const entry of header.entries) {
    dtypes[entry.dtype] = (dtypes[entry.dtype] ?? 0) + 1;
    elements += elementsOf(entry.shape);
    const name = stripped(entry.name);
    const pattern = matcher.match(name);
    if (!pattern || present.has(name)) {
      // Two checkpoint names that are one after stripping the prefix (`net.a` and `a`): the second is extra.
      unexpected.push({ name: entry.name, shape: entry.shape, dtype: entry.dtype });
      continue;
    }
    present.set(name, { entry, pattern });
    matchedPerPattern.set(pattern, (matchedPerPattern.get(pattern) ?? 0) + 1);
  }

  // Shapes and dtypes of what matched.
  const shapeMismatches: VerifyShapeMismatch[] = [];
  const dtypeMismatches: VerifyDtypeMismatch[] = [];
  for (const [name, { entry, pattern }] of present) {
    const want = pattern.record.shape;
    const same = want.length === entry.shape.length && want.every((d, i) => d === BigInt(entry.shape[i]!));
    if (!same) {
      const transposed =
        want.length === 2 &&
        entry.shape.length === 2 &&
        BigInt(entry.shape[0]!) === want[1] &&
        BigInt(entry.shape[1]!) === want[0];
      shapeMismatches.push({ name, expected: want, found: entry.shape, transposed });
    }
    const expected = expectedDtype(pattern.record);
    if (expected === "I64" ? entry.dtype !== "I64" : !isFloatDtype(entry.dtype)) {
      dtypeMismatches.push({
        name,
        expected: expected === "I64" ? "I64" : "F32, F64, F16 or BF16",
        found: entry.dtype,
      });
    }
  }

  // Ties: a tied tensor may be stored under either name, or both (then the copies must agree).
  const ties: VerifyTie[] = [];
  const satisfiedByTie = new Set<string>();
  const tiedRecords = patterns.filter((p) => p.record.tiedTo !== undefined);
  const patternByName = new Map(patterns.map((p) => [p.record.name, p]));
  const tieDiagnostics: Diagnostic[] = [];
  for (const p of tiedRecords) {
    const target = patternByName.get(p.record.tiedTo!);
    if (!target) continue;
    const transposed = model.ties.find((t) => t.tensor === p.record.name)?.transposed ?? false;
    // Each copy of a tie inside a repeat has the target's copy with the same indices, or the one target
    // outside the repeat. Every copy is listed for a small model; for a large one, those stored.
    const copies =
      p.copies <= 1000n ? copiesOf(p.segments) : [...present].filter(([, v]) => v.pattern === p).map(([name]) => name);
    for (const copy of copies) {
      const targetName = tieTarget(p, copy, patternByName);
      if (targetName === undefined) break;
      const own = present.get(copy);
      const other = present.get(targetName);
      if (own && other) {
        const equal = sameValues(request, own.entry, other.entry, transposed);
        ties.push({
          tensor: copy,
          target: targetName,
          transposed,
          stored: "twice",
          ...(equal === undefined ? {} : { equal }),
        });
        if (equal === false) {
          tieDiagnostics.push(
            diagnostic(
              "TiedCopiesDiffer",
              spanOf(p),
              { copy, target: targetName },
              {
                help: "a model with this tie has one tensor: keep the copy the checkpoint was trained with",
              },
            ),
          );
        }
      } else if (own || other) {
        ties.push({ tensor: copy, target: targetName, transposed, stored: "once", as: own ? copy : targetName });
        if (own) satisfiedByTie.add(targetName);
      } else {
        ties.push({ tensor: copy, target: targetName, transposed, stored: "missing" });
      }
    }
  }
  const satisfiedPer = new Map<Pattern, bigint>();
  for (const name of satisfiedByTie) {
    const p = matcher.match(name);
    if (p) satisfiedPer.set(p, (satisfiedPer.get(p) ?? 0n) + 1n);
  }

  // Missing: every copy of every untied pattern that is neither present nor stored under a tied name.
  // Counted per pattern; only the names listed are spelled out.
  const missing: VerifyMissing[] = [];
  let missingCount = 0n;
  let batchCountersMissing = 0n;
  const missingDiagnostics: Diagnostic[] = [];
  for (const p of patterns) {
    if (p.record.tiedTo !== undefined) continue;
    const absent = p.copies - BigInt(matchedPerPattern.get(p) ?? 0) - (satisfiedPer.get(p) ?? 0n);
    if (absent <= 0n) continue;
    if (p.record.role === "buffer" && p.record.name.endsWith(".num_batches_tracked")) {
      batchCountersMissing += absent;
      continue;
    }
    missingCount += absent;
    let listed = 0n;
    for (const copy of copiesOf(p.segments)) {
      if (listed === absent || missing.length >= listedMissing) break;
      if (present.has(copy) || satisfiedByTie.has(copy)) continue;
      listed++;
      missing.push({ name: copy, shape: p.record.shape, role: p.record.role });
      if (missingDiagnostics.length < shownPerKind) {
        const tiedHere = tiedRecords
          .filter((t) => t.record.tiedTo === p.record.name)
          .map((t) => `\`${t.record.name}\``);
        missingDiagnostics.push(
          diagnostic(
            "MissingTensor",
            spanOf(p),
            [
              "missing",
              { name: copy, shape: showShape(p.record.shape), buffer: p.record.role === "buffer" ? " (a buffer)" : "" },
            ],
            {
              ...(tiedHere.length > 0
                ? {
                    notes: [
                      `${tiedHere.join(", ")} share${tiedHere.length === 1 ? "s" : ""} it and is not stored either`,
                    ],
                  }
                : {}),
            },
          ),
        );
      }
    }
  }
  if (missingCount > BigInt(missingDiagnostics.length)) {
    missingDiagnostics.push(
      diagnostic("MissingTensor", undefined, [
        "more",
        { count: grouped(missingCount - BigInt(missingDiagnostics.length)) },
      ]),
    );
  }
  if (batchCountersMissing > 0n) {
    diagnostics.push(
      diagnostic(
        "BatchCounterMissing",
        undefined,
        {
          layers:
            batchCountersMissing === 1n ? "one BatchNorm layer" : `${grouped(batchCountersMissing)} BatchNorm layers`,
        },
        {
          notes: [
            "PyTorch's BatchNorm fills in 0 when a state dict without version metadata lacks it; so does this check",
          ],
        },
      ),
    );
  }
  diagnostics.push(...missingDiagnostics);

  // Unexpected, with hints: a near name of the model, or a copy beyond a repeat's count.
  unexpected.slice(0, shownPerKind).forEach((u) => {
    diagnostics.push(
      diagnostic(
        "UnexpectedTensor",
        undefined,
        ["unexpected", { name: u.name, dtype: u.dtype, shape: showShape(u.shape) }],
        unexpectedHelp(u, missing),
      ),
    );
  });
  if (unexpected.length > shownPerKind) {
    diagnostics.push(diagnostic("UnexpectedTensor", undefined, ["more", { count: unexpected.length - shownPerKind }]));
  }
  shapeMismatches.slice(0, shownPerKind).forEach((m) => {
    const p = present.get(m.name)!.pattern;
    diagnostics.push(
      diagnostic(
        "TensorShapeMismatch",
        spanOf(p),
        [
          "mismatch",
          {
            name: m.name,
            found: showShape(m.found),
            expected: showShape(m.expected),
            transposed: m.transposed ? ": stored transposed" : "",
          },
        ],
        transposedHelp(m, p.record, kinds.get(p.record.name)),
      ),
    );
  });
  if (shapeMismatches.length > shownPerKind) {
    diagnostics.push(
      diagnostic("TensorShapeMismatch", undefined, ["more", { count: shapeMismatches.length - shownPerKind }]),
    );
  }
  dtypeMismatches.slice(0, shownPerKind).forEach((m) => {
    const p = present.get(m.name)!.pattern;
    diagnostics.push(
      diagnostic("TensorDtypeMismatch", spanOf(p), [
        "mismatch",
        { name: m.name, found: m.found, expected: m.expected },
      ]),
    );
  });
  if (dtypeMismatches.length > shownPerKind) {
    diagnostics.push(
      diagnostic("TensorDtypeMismatch", undefined, ["more", { count: dtypeMismatches.length - shownPerKind }]),
    );
  }
  diagnostics.push(...tieDiagnostics);

  // NaN and infinities, in every float tensor of the file.
  const nonFinite: VerifyNonFinite[] = [];
  for (const entry of header.entries) {
    if (!isFloatDtype(entry.dtype)) continue;
    const counts = countNonFinite(request, entry);
    if (counts && (counts.nan > 0 || counts.infinite > 0)) nonFinite.push({ name: entry.name, ...counts });
  }
  nonFinite.slice(0, shownPerKind).forEach((n) => {
    const what = [
      n.nan > 0 ? `${grouped(BigInt(n.nan))} NaN` : "",
      n.infinite > 0 ? `${grouped(BigInt(n.infinite))} infinite` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    const owner = present.get(stripped(n.name))?.pattern;
    diagnostics.push(
      diagnostic("NonFiniteWeights", owner && spanOf(owner), [
        "nonFinite",
        { name: n.name, what, s: n.nan + n.infinite === 1 ? "" : "s" },
      ]),
    );
  });
  if (nonFinite.length > shownPerKind)
    diagnostics.push(diagnostic("NonFiniteWeights", undefined, ["more", { count: nonFinite.length - shownPerKind }]));

  // Totals as the spec counts them.
  let parameters = 0n;
  let buffers = 0n;
  for (const [name, { entry, pattern }] of present) {
    const n = elementsOf(entry.shape);
    if (pattern.record.role === "buffer") buffers += n;
    else if (pattern.record.tiedTo === undefined || !present.has(tieTarget(pattern, name, patternByName) ?? ""))
      parameters += n;
  }
  for (const u of unexpected) {
    if (bufferSuffixes.some((s) => u.name.endsWith(s))) buffers += elementsOf(u.shape);
    else parameters += elementsOf(u.shape);
  }

  const specTensors = patterns.reduce((a, p) => a + p.copies, 0n);
  const report: VerifyReport = {
    model: model.name,
    match: !diagnostics.some((d) => d.severity === "error"),
    ...(prefix ? { prefix } : {}),
    spec: { tensors: specTensors, parameters: model.params, buffers: model.buffers },
    checkpoint: {
      tensors: header.entries.length,
      elements,
      parameters,
      buffers,
      dtypes,
      ...(header.metadata ? { metadata: header.metadata } : {}),
    },
    matched: present.size,
    missing,
    missingNotListed: missingCount - BigInt(missing.length),
    unexpected,
    shapeMismatches,
    dtypeMismatches,
    ties,
    nonFinite,
  };
  return { report, diagnostics };
}

/** The concrete target name of a tied tensor's copy. */
function tieTarget(p: Pattern, copy: string, byName: ReadonlyMap<string, Pattern>): string | undefined {
  const target = byName.get(p.record.tiedTo!);
  if (!target) return undefined;
  const ranges = target.segments.filter((s) => typeof s !== "string").length;
  if (ranges === 0) return target.record.name;
  const indices = copy
    .split(".")
    .filter((_, i) => typeof p.segments[i] !== "string")
    .map((s) => BigInt(s));
  return ranges === indices.length ? nameOf(target.segments, indices) : undefined;
}

function unexpectedHelp(u: VerifyUnexpected, missing: readonly VerifyMissing[]): { help?: string } {
  // A missing tensor of the same shape and a near name is the likeliest meaning.
  let best: { name: string; distance: number } | undefined;
  for (const m of missing) {
    const d = nameDistance(u.name, m.name);
    if (d <= Math.max(2, Math.floor(m.name.length / 4)) && (!best || d < best.distance))
      best = { name: m.name, distance: d };
  }
  return best ? { help: `did you mean \`${best.name}\`, which the checkpoint lacks?` } : {};
}

/** Edit distance between two names, bounded in cost (names are short; long ones are compared by length). */
function nameDistance(a: string, b: string): number {
  if (a.length > 200 || b.length > 200) return Math.abs(a.length - b.length) + (a === b ? 0 : 1_000);
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The span of the layer that owns each tensor (by pattern name), for diagnostics located in the spec. */
/** The kind of the layer that owns each tensor (`dense`, `attention`, …). */
function layerKinds(root: LayerNode): Map<string, string> {
  const kinds = new Map<string, string>();
  const visit = (n: LayerNode) => {
    for (const t of n.tensors) if (!kinds.has(t.name)) kinds.set(t.name, n.kind);
    for (const c of n.children) visit(c);
  };
  visit(root);
  return kinds;
}

/** The help for a matrix stored transposed: only the layers with a `layout` option (`dense`, `attention`)
 *  are told to change it; the checkpoint's [in, out] is Hugging Face's Conv1D, its [out, in] nn.Linear. */
function transposedHelp(m: VerifyShapeMismatch, record: TensorRecord, kind: string | undefined): { help?: string } {
  if (!m.transposed || record.role !== "matrix") return {};
  if (record.layout === "in_out") {
    return {
      help: "the model stores it [in, out] (`layout = in_out`) and the checkpoint [out, in], as nn.Linear does: drop `layout = in_out`, or transpose it when loading",
    };
  }
  if (kind === "dense" || kind === "attention") {
    return {
      help: "the checkpoint stores it [in, out], as Hugging Face's Conv1D does: write `layout = in_out` on the layer, or transpose it when loading",
    };
  }
  return {};
}

function layerSpans(root: LayerNode): Map<string, Span> {
  const spans = new Map<string, Span>();
  const visit = (n: LayerNode) => {
    for (const t of n.tensors) if (!spans.has(t.name)) spans.set(t.name, n.span);
    for (const c of n.children) visit(c);
  };
  visit(root);
  return spans;
}

/** Bytes read per piece when scanning a tensor. */
const pieceBytes = 16 * 1024 * 1024;

function countNonFinite(
  request: VerifyRequest,
  entry: SafetensorsEntry,
): { nan: number; infinite: number } | undefined {
  const size = dtypeSizes[entry.dtype];
  const step = Math.floor(pieceBytes / size) * size;
  let nan = 0;
  let infinite = 0;
  const start = request.header.dataStart + entry.begin;
  const end = request.header.dataStart + entry.end;
  for (let at = start; at < end; at += step) {
    const bytes = request.readBytes(at, Math.min(end, at + step));
    if (!bytes) return undefined;
    const values = decodeFloats(entry.dtype as "F32", bytes, entry.dtype === "F64" ? "float64" : "float32");
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) nan++;
      else if (v === Infinity || v === -Infinity) infinite++;
    }
  }
  return { nan, infinite };
}

/** Whether two tied copies hold the same values (NaN equal to NaN); `undefined` when not comparable. */
function sameValues(
  request: VerifyRequest,
  a: SafetensorsEntry,
  b: SafetensorsEntry,
  transposed: boolean,
): boolean | undefined {
  if (!isFloatDtype(a.dtype) || !isFloatDtype(b.dtype)) return undefined;
  const count = elementsOf(a.shape);
  if (count !== elementsOf(b.shape) || count > 64n * 1024n * 1024n) return undefined;
  const read = (e: SafetensorsEntry) => {
    const bytes = request.readBytes(request.header.dataStart + e.begin, request.header.dataStart + e.end);
    return bytes && decodeFloats(e.dtype as "F32", bytes, "float64");
  };
  const x = read(a);
  const y = read(b);
  if (!x || !y) return undefined;
  const rows = a.shape[0] ?? 1;
  const cols = a.shape[1] ?? 1;
  for (let i = 0; i < x.length; i++) {
    // A transposed tie: a[r][c] = b[c][r].
    const j = transposed && a.shape.length === 2 ? (i % cols) * rows + Math.floor(i / cols) : i;
    const u = x[i]!;
    const v = y[j]!;
    if (u !== v && !(u !== u && v !== v)) return false;
  }
  return true;
}

/** The report as people read it (stdout of `nnc verify`); the diagnostics say what is wrong, in detail. */
export function renderVerifyText(report: VerifyReport, specFile: string, against: string): string {
  const lines: string[] = [];
  lines.push(`${report.model} (${specFile}) against ${against}: ${report.match ? "match" : "MISMATCH"}`);
  const c = report.checkpoint;
  const dtypes = Object.entries(c.dtypes)
    .map(([d, n]) => `${d} ${n}`)
    .join(", ");
  const rows: [string, string][] = [
    [
      "spec",
      `${grouped(report.spec.tensors)} tensors, ${grouped(report.spec.parameters)} parameters, ${grouped(report.spec.buffers)} buffer elements`,
    ],
    [
      "checkpoint",
      `${grouped(BigInt(c.tensors))} tensors${dtypes ? ` (${dtypes})` : ""}, ${grouped(c.parameters)} parameters, ${grouped(c.buffers)} buffer elements`,
    ],
    [
      "prefix",
      report.prefix
        ? `\`${report.prefix.value}\` ${report.prefix.given ? "(given)" : "(found: pass --prefix to accept it)"}`
        : "none",
    ],
    ["matched", `${grouped(BigInt(report.matched))} of ${grouped(BigInt(c.tensors))} checkpoint tensors`],
    [
      "missing",
      list(
        report.missing.map((m) => m.name),
        report.missingNotListed,
      ),
    ],
    [
      "unexpected",
      list(
        report.unexpected.map((u) => u.name),
        0n,
      ),
    ],
    [
      "shape",
      list(
        report.shapeMismatches.map((m) => `${m.name}${m.transposed ? " (transposed)" : ""}`),
        0n,
      ),
    ],
    [
      "dtype",
      list(
        report.dtypeMismatches.map((m) => `${m.name} (${m.found})`),
        0n,
      ),
    ],
    [
      "NaN/inf",
      list(
        report.nonFinite.map((n) => n.name),
        0n,
      ),
    ],
  ];
  if (report.ties.length > 0) {
    rows.push([
      "ties",
      report.ties
        .slice(0, 10)
        .map(
          (t) =>
            `${t.tensor} → ${t.target}: ${t.stored === "once" ? `stored once, as ${t.as}` : t.stored === "twice" ? `stored twice${t.equal === false ? ", different values" : t.equal ? ", equal" : ""}` : "not stored"}`,
        )
        .join("; ") + (report.ties.length > 10 ? `; … ${report.ties.length - 10} more` : ""),
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`  ${`${k}:`.padEnd(width + 1)}  ${v}`);
  if (c.metadata)
    lines.push(
      `  ${"metadata:".padEnd(width + 1)}  ${Object.entries(c.metadata)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}`,
    );
  return lines.join("\n") + "\n";
}

function list(names: readonly string[], more: bigint): string {
  const total = BigInt(names.length) + more;
  if (total === 0n) return "none";
  const shown = names.slice(0, 5).join(", ");
  const rest = total - BigInt(Math.min(5, names.length));
  return `${grouped(total)} (${shown}${rest > 0n ? `, … ${grouped(rest)} more` : ""})`;
}
