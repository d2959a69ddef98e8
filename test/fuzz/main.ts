// `npm run fuzz`: the semantic fuzzer at scale (scripts/fuzz.mjs bundles this file and runs it).
//
//   npm run fuzz -- [--seed S] [--count N] [--start I] [--case-ms MS] [--hang-ms MS] [--heap-mb MB] [--quiet]
//
// Cases run in a worker thread with a heap limit; the main thread is a watchdog: a case that reports
// nothing for --hang-ms (a hang), or that runs the worker out of memory, is recorded as a failure of the
// budget with its reproducer, and the run goes on from the next case in a fresh worker. Prints cases tried,
// outcomes, time and memory maxima (process RSS, worker heap) and a reproducer for every failure; exits 1
// when any case failed.
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { defaultBudgets, runCase, type Outcome } from "./oracle.js";
import { caseAt, emptyReport, record, reproducer, summary } from "./run.js";

interface Job {
  seed: number;
  start: number;
  end: number;
  caseMs: number;
}

type Message =
  { type: "start"; index: number } | { type: "done"; index: number; outcome: Outcome; heap: number } | { type: "end" };

if (!isMainThread) {
  const job = workerData as Job;
  for (let index = job.start; index < job.end; index++) {
    parentPort!.postMessage({ type: "start", index } satisfies Message);
    const outcome = await runCase(caseAt(job.seed, index), undefined, { ...defaultBudgets, caseMs: job.caseMs });
    parentPort!.postMessage({ type: "done", index, outcome, heap: process.memoryUsage().heapUsed } satisfies Message);
  }
  parentPort!.postMessage({ type: "end" } satisfies Message);
} else {
  await main(process.argv.slice(2));
}

function parseArgs(argv: readonly string[]): {
  seed: number;
  count: number;
  start: number;
  caseMs: number;
  hangMs: number;
  heapMb: number;
  quiet: boolean;
} {
  const out = { seed: 1, count: 2000, start: 0, caseMs: 30_000, hangMs: 120_000, heapMb: 2048, quiet: false };
  const names: Record<string, keyof typeof out> = {
    "--seed": "seed",
    "--count": "count",
    "--start": "start",
    "--case-ms": "caseMs",
    "--hang-ms": "hangMs",
    "--heap-mb": "heapMb",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quiet") {
      out.quiet = true;
      continue;
    }
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const key = names[flag];
    const text = inline ?? argv[++i];
    const value = Number(text);
    if (!key || text === undefined || !Number.isSafeInteger(value) || value < 0) {
      process.stderr.write(
        `fuzz: ${key ? `${flag} needs a whole number, found ${text ?? "nothing"}` : `unknown flag ${arg}`}\n`,
      );
      process.stderr.write(
        "usage: npm run fuzz -- [--seed S] [--count N] [--start I] [--case-ms MS] [--hang-ms MS] [--heap-mb MB] [--quiet]\n",
      );
      process.exit(2);
    }
    (out as Record<string, number | boolean>)[key] = value;
  }
  return out;
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const report = emptyReport(args.seed);
  const started = performance.now();
  const end = args.start + args.count;
  let next = args.start;
  let lastPrinted = performance.now();
  while (next < end) {
    // One worker per stretch of cases; a hang or an out-of-memory ends it, and the next starts after the case.
    const stopped = await new Promise<number>((resolve) => {
      const worker = new Worker(fileURLToPath(import.meta.url), {
        workerData: { seed: args.seed, start: next, end, caseMs: args.caseMs } satisfies Job,
        resourceLimits: { maxOldGenerationSizeMb: args.heapMb },
      });
      let current = next;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(`no result after ${args.hangMs} ms (a hang)`), args.hangMs);
      };
      const settle = (resume: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        resolve(resume);
      };
      const fail = (message: string) => {
        const c = caseAt(args.seed, current);
        record(report, current, c, {
          kind: "failed",
          failures: [{ stage: "budget", message }],
          codes: [],
          ms: 0,
          stageMs: {},
          gradientChecks: 0,
        });
        settle(current + 1);
      };
      worker.on("message", (m: Message) => {
        if (m.type === "start") {
          current = m.index;
          arm();
        } else if (m.type === "done") {
          record(report, m.index, caseAt(args.seed, m.index), m.outcome, m.heap);
          if (!args.quiet && performance.now() - lastPrinted > 5000) {
            lastPrinted = performance.now();
            process.stderr.write(
              `  ${report.tried}/${args.count} cases, ${report.byKind.failed} failed, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
            );
          }
        } else settle(end);
      });
      worker.on("error", (error) => fail(`the worker died: ${error.message} (heap limit ${args.heapMb} MB)`));
      worker.on("exit", (code) => {
        if (!settled) fail(`the worker exited with code ${code}`);
      });
    });
    next = stopped;
  }
  report.ms = performance.now() - started;
  const out: string[] = [summary(report)];
  const missing = (await import("./spec-gen.js")).registryNames().filter((n) => !report.covered.has(n));
  out.push(
    `  registry coverage: ${missing.length === 0 ? "every kind and option" : `not reached: ${missing.join(", ")}`}`,
  );
  for (const k of report.known) out.push(`  known failure, case ${k.index}: ${k.defect}`);
  for (const f of report.failed) out.push("", reproducer(f, args.seed));
  process.stdout.write(`${out.join("\n")}\n`);
  process.exitCode = report.failed.length > 0 ? 1 : 0;
}
