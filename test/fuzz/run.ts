// Runs the semantic fuzzer: cases (seed, 0), (seed, 1), … through the oracle, with time and memory
// maxima, coverage of the registry, and a reproducer for every failure. Used by test/fuzz.test.ts (a few
// hundred cases, fixed seed) and scripts/fuzz.mjs (`npm run fuzz -- --seed S --count N`).
import { knownFailures } from "./known.js";
import {
  defaultBudgets,
  functionLoader,
  runCase,
  type Budgets,
  type Failure,
  type ModuleLoader,
  type Outcome,
} from "./oracle.js";
import { caseSeed, rng } from "./rng.js";
import { generateCase, type FuzzCase, type Mode } from "./spec-gen.js";

/** Case `index` of a run with `seed`: half valid, a quarter at the edges of ranges, a quarter beyond. */
export function caseAt(seed: number, index: number): FuzzCase {
  const s = caseSeed(seed, index);
  const r = rng(s);
  const u = r.next();
  const mode: Mode = u < 0.5 ? "valid" : u < 0.75 ? "boundary" : "beyond";
  return generateCase(r, s, mode);
}

export interface FailedCase {
  readonly index: number;
  readonly case: FuzzCase;
  readonly failures: readonly Failure[];
}

export interface KnownCase extends FailedCase {
  readonly defect: string;
}

export interface FuzzReport {
  seed: number;
  tried: number;
  byKind: Record<Outcome["kind"], number>;
  byMode: Record<Mode, number>;
  /** Error codes and how many cases reported each. */
  codes: Map<string, number>;
  failed: FailedCase[];
  known: KnownCase[];
  covered: Set<string>;
  gradientChecks: number;
  /** Total milliseconds per oracle stage. */
  stageMs: Record<string, number>;
  maxCaseMs: number;
  slowest: number;
  maxRssBytes: number;
  maxHeapBytes: number;
  ms: number;
}

export interface RunOptions {
  readonly seed: number;
  readonly count: number;
  /** First case number (a single case is reproduced with `start = i, count = 1`). */
  readonly start?: number;
  /** Exactly these case numbers instead of `start`, `start + 1`, … (see `coveringIndices`). */
  readonly indices?: readonly number[];
  readonly budgets?: Budgets;
  /** How modules are loaded: `functionLoader` by default. */
  readonly load?: ModuleLoader;
  /** Called after each case (progress, the script's watchdog). */
  readonly onCase?: (index: number, outcome: Outcome, report: FuzzReport) => void;
}

export function emptyReport(seed: number): FuzzReport {
  return {
    seed,
    tried: 0,
    byKind: { refused: 0, built: 0, unbuilt: 0, failed: 0 },
    byMode: { valid: 0, boundary: 0, beyond: 0 },
    codes: new Map(),
    failed: [],
    known: [],
    covered: new Set(),
    gradientChecks: 0,
    stageMs: {},
    maxCaseMs: 0,
    slowest: -1,
    maxRssBytes: 0,
    maxHeapBytes: 0,
    ms: 0,
  };
}

/** Adds one case's outcome to a report (heap: the heap in use where the case ran). */
export function record(
  report: FuzzReport,
  index: number,
  c: FuzzCase,
  outcome: Outcome,
  heapBytes = process.memoryUsage().heapUsed,
): void {
  report.tried++;
  report.byMode[c.mode]++;
  for (const name of c.covered) report.covered.add(name);
  for (const code of new Set(outcome.codes)) report.codes.set(code, (report.codes.get(code) ?? 0) + 1);
  report.gradientChecks += outcome.gradientChecks;
  for (const [stage, ms] of Object.entries(outcome.stageMs)) report.stageMs[stage] = (report.stageMs[stage] ?? 0) + ms;
  if (outcome.ms > report.maxCaseMs) {
    report.maxCaseMs = outcome.ms;
    report.slowest = index;
  }
  report.maxRssBytes = Math.max(report.maxRssBytes, process.memoryUsage.rss());
  report.maxHeapBytes = Math.max(report.maxHeapBytes, heapBytes);
  if (outcome.kind === "failed") {
    const known = knownFailures.find((k) => outcome.failures.every((f) => k.matches(c, f)));
    if (known) {
      report.known.push({ index, case: c, failures: outcome.failures, defect: known.defect });
      report.byKind[c.mode === "beyond" ? "refused" : "built"]++;
    } else {
      report.failed.push({ index, case: c, failures: outcome.failures });
      report.byKind.failed++;
    }
  } else {
    report.byKind[outcome.kind]++;
  }
}

export async function runFuzz(options: RunOptions): Promise<FuzzReport> {
  const report = emptyReport(options.seed);
  const started = performance.now();
  const start = options.start ?? 0;
  const indices = options.indices ?? Array.from({ length: options.count }, (_, i) => start + i);
  for (const index of indices) {
    const c = caseAt(options.seed, index);
    const outcome = await runCase(c, options.load ?? functionLoader, options.budgets ?? defaultBudgets);
    record(report, index, c, outcome);
    options.onCase?.(index, outcome, report);
  }
  report.ms = performance.now() - started;
  return report;
}

/**
 * `count` case numbers of a run with `seed` that together reach every name in `wanted` if any of the first
 * `pool` cases does: the cases that reach a name the earlier ones miss, chosen greedily (most new names
 * first) from the whole pool, then the first cases in order. Generating is cheap (about 5 ms per case) and
 * running is not, so a fixed run covers the registry by construction instead of by a lucky seed — a seed
 * that had reached every kind stopped doing so each time a kind was added. Names no case of the pool reaches
 * stay missing, for the caller's coverage check to report.
 */
export function coveringIndices(seed: number, count: number, wanted: readonly string[], pool = count * 10): number[] {
  const covers = Array.from({ length: pool }, (_, i) => new Set(caseAt(seed, i).covered));
  const chosen: number[] = [];
  const missing = new Set(wanted);
  for (;;) {
    let best = -1;
    let bestGain = 0;
    covers.forEach((names, i) => {
      let gain = 0;
      for (const n of names) if (missing.has(n)) gain++;
      if (gain > bestGain) [best, bestGain] = [i, gain];
    });
    if (best < 0 || chosen.length >= count) break;
    chosen.push(best);
    for (const n of covers[best] ?? []) missing.delete(n);
  }
  for (let i = 0; chosen.length < count && i < pool; i++) if (!chosen.includes(i)) chosen.push(i);
  return chosen.sort((a, b) => a - b);
}

/** A failing case as text to paste into a file (or a test): its files, mode, and what failed. */
export function reproducer(f: FailedCase, seed: number): string {
  const lines = [
    `── case ${f.index} (seed ${seed}, case seed ${f.case.seed}, mode ${f.case.mode}${f.case.training ? ", training" : ""}) ──`,
    `reproduce: npm run fuzz -- --seed ${seed} --start ${f.index} --count 1`,
    ...f.failures.map((x) => `[${x.stage}] ${x.message}`),
  ];
  if (f.case.injected)
    lines.push(`injected: ${f.case.injected.what} = ${f.case.injected.text} (expects ${f.case.injected.code})`);
  for (const [name, text] of Object.entries(f.case.files)) lines.push(`# ${name}`, text.trimEnd());
  return lines.join("\n");
}

export function summary(report: FuzzReport): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const codes = [...report.codes]
    .sort((a, b) => b[1] - a[1])
    .map(([c, k]) => `${c}×${k}`)
    .join(" ");
  return [
    `fuzz: seed ${report.seed}, ${report.tried} cases in ${(report.ms / 1000).toFixed(1)} s ` +
      `(valid ${report.byMode.valid}, boundary ${report.byMode.boundary}, beyond ${report.byMode.beyond})`,
    `  outcomes: ${report.byKind.built} built and checked against finite differences (${report.gradientChecks} gradient elements), ` +
      `${report.byKind.refused} refused with diagnostics, ${report.byKind.unbuilt} too large to build, ${report.byKind.failed} failed` +
      (report.known.length > 0 ? `, ${report.known.length} known failures (allow-listed)` : ""),
    `  maxima: ${report.maxCaseMs.toFixed(0)} ms per case (case ${report.slowest}), RSS ${mb(report.maxRssBytes)}, heap ${mb(report.maxHeapBytes)}`,
    `  time by stage: ${Object.entries(report.stageMs)
      .map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`)
      .join(", ")}`,
    `  error codes: ${codes || "none"}`,
  ].join("\n");
}
