// The language server's model of the workspace: the open documents (their text overrides the file system
// for every check: an in-memory `Host` over the Node host) and, for each, the last check of the program
// it is the entry of, with its symbol index. Knows nothing about the protocol: positions are UTF-16 offsets
// (the same as spans); server.ts converts.
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Host, ReadResult } from "../program/host.js";
import type { ModelInfo, ResolvedFile } from "../resolve/resolve.js";
import type { AnalysisContext } from "../analyze/analyze.js";
import { analysisContext, checkModel, resolveProgram, type Checked, type CheckedModel } from "../program/check.js";
import type { Program } from "../program/load.js";
import { ResolveCache } from "../resolve/cache.js";
import { IncrementalParser } from "./incremental.js";
import { ModelChecks } from "./recheck.js";
import { indexProgram, type ProgramIndex } from "./symbols.js";

export interface Document {
  readonly file: string;
  text: string;
  version: number;
}

/** One check of an open document as an entry file. Diagnostics, the loaded files and their resolution are
 *  made at once; the models' analyses (`checked.models`, for hover) and the symbol index are made when a
 *  request first reads them (a keystroke re-check publishes diagnostics only). */
export class Analysis {
  private checkedValue: Checked | undefined;
  private indexValue: ProgramIndex | undefined;

  constructor(
    readonly file: string,
    /** The text this analysis was made from. */
    readonly text: string,
    readonly version: number,
    readonly program: Program,
    /** Resolution of every file that parsed, by file name. */
    readonly resolved: ReadonlyMap<string, ResolvedFile>,
    readonly analyzable: boolean,
    readonly diagnostics: readonly Diagnostic[],
    /** The models checked during the re-check (the others came from the cache, recheck.ts). */
    private readonly modelsChecked: ReadonlyMap<ModelInfo, CheckedModel | undefined>,
    /** Milliseconds the re-check took (load, resolution, models' diagnostics). */
    readonly ms: number,
    /** How many models' diagnostics came from the last checks (recheck.ts). */
    readonly reusedModels: number,
    /** How many blocks' and models' resolutions came from the last checks (src/resolve/cache.ts). */
    readonly reusedResolutions: number = 0,
  ) {}

  /** What `checkProgram` returns for this text (its `models` made on first use). */
  get checked(): Checked {
    if (!this.checkedValue) {
      const models: CheckedModel[] = [];
      const entry = this.resolved.get(this.file);
      if (entry && this.analyzable) {
        let context: AnalysisContext | undefined;
        for (const model of entry.models.values()) {
          let m: CheckedModel | undefined;
          if (this.modelsChecked.has(model)) m = this.modelsChecked.get(model);
          else m = checkModel(entry, model, (context ??= analysisContext(this.resolved))).value;
          if (m) models.push(m);
        }
      }
      this.checkedValue = { program: this.program, resolved: this.resolved, models };
    }
    return this.checkedValue;
  }

  /** The symbol index (made on first use). */
  get index(): ProgramIndex {
    return (this.indexValue ??= indexProgram(this.program, this.resolved));
  }
}

export class Workspace {
  readonly documents = new Map<string, Document>();
  /** The latest analysis of each open document (maybe of an older text: see `fresh`). */
  readonly analyses = new Map<string, Analysis>();
  /** The latest analysis whose entry file parsed: what completion and the outline fall back on. */
  readonly lastParsed = new Map<string, Analysis>();
  readonly host: Host;
  /** Per open document, as an entry file: the parser of every file its checks read, reusing the items that
   *  did not change (incremental.ts; one per entry, as it moves the spans of the ASTs it returned), and its
   *  models' re-checks, reusing the diagnostics of those whose inputs did not change (recheck.ts). */
  private readonly incremental = new Map<
    string,
    { parser: IncrementalParser; resolution: Map<string, ResolveCache>; models: ModelChecks }
  >();

  constructor(
    disk: Host,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.host = {
      readFile: (file: string): ReadResult => {
        const open = this.documents.get(file);
        return open ? { ok: true, text: open.text } : disk.readFile(file);
      },
    };
  }

  open(file: string, text: string, version: number): void {
    this.documents.set(file, { file, text, version });
  }

  change(file: string, text: string, version: number): void {
    const doc = this.documents.get(file);
    if (doc) {
      doc.text = text;
      doc.version = version;
    } else this.open(file, text, version);
  }

  close(file: string): void {
    this.documents.delete(file);
    this.incremental.delete(file);
    this.analyses.delete(file);
    this.lastParsed.delete(file);
  }

  /** Whether the analysis of an open document is of its current text. */
  isFresh(file: string): boolean {
    const doc = this.documents.get(file);
    const a = this.analyses.get(file);
    return !!doc && !!a && a.version === doc.version && a.text === doc.text;
  }

  /** Checks an open document as an entry file (its imports read through the overlay). */
  analyze(file: string): Analysis | undefined {
    const doc = this.documents.get(file);
    if (!doc) return undefined;
    const start = this.now();
    let state = this.incremental.get(file);
    if (!state)
      this.incremental.set(
        file,
        (state = { parser: new IncrementalParser(), resolution: new Map(), models: new ModelChecks() }),
      );
    const resolution = state.resolution;
    for (const c of resolution.values()) c.reused = 0;
    const resolveCache = (f: string): ResolveCache => {
      let c = resolution.get(f);
      if (!c) resolution.set(f, (c = new ResolveCache()));
      return c;
    };
    const first = resolveProgram(file, this.host, doc.text, { parse: state.parser.parse, resolveCache });
    const { program, resolved, analyzable } = first.value;
    for (const f of resolution.keys()) if (!program.files.has(f)) resolution.delete(f);
    const diagnostics = first.diagnostics.slice();
    let checked: ReadonlyMap<ModelInfo, CheckedModel | undefined> = new Map();
    let reused = 0;
    if (analyzable) {
      const models = state.models.run(program, resolved);
      diagnostics.push(...models.diagnostics);
      checked = models.checked;
      reused = models.reused;
    }
    const analysis = new Analysis(
      file,
      doc.text,
      doc.version,
      program,
      resolved,
      analyzable,
      diagnostics,
      checked,
      this.now() - start,
      reused,
      [...program.files.keys()].reduce((n, f) => n + (resolution.get(f)?.reused ?? 0), 0),
    );
    this.analyses.set(file, analysis);
    if (program.files.get(file)?.ast) this.lastParsed.set(file, analysis);
    return analysis;
  }

  /** The analysis of the current text of an open document, made now if it is stale. */
  fresh(file: string): Analysis | undefined {
    if (this.isFresh(file)) return this.analyses.get(file);
    return this.analyze(file);
  }

  /** Open documents whose last check read `file` (the file itself included): what to re-check after it
   *  changes. */
  dependents(file: string): string[] {
    const out: string[] = [];
    for (const [entry, a] of this.analyses) {
      if (entry === file || a.program.files.has(file)) out.push(entry);
    }
    if (!out.includes(file) && this.documents.has(file)) out.push(file);
    return out;
  }

  /** Every current analysis (for references and rename across open files, and hover on library code). */
  all(): Analysis[] {
    return [...this.analyses.values()];
  }
}
