// The language server's model of the workspace: the open documents (their text overrides the file system
// for every check: an in-memory `Host` over the Node host) and, for each, the last check of the program
// it is the entry of, with its symbol index. Knows nothing about the protocol: positions are UTF-16 offsets
// (the same as spans); server.ts converts.
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Host, ReadResult } from "../program/host.js";
import { checkProgram, type Checked } from "../program/check.js";
import { IncrementalParser } from "./incremental.js";
import { indexProgram, type ProgramIndex } from "./symbols.js";

export interface Document {
  readonly file: string;
  text: string;
  version: number;
}

export interface Analysis {
  readonly file: string;
  /** The text this analysis was made from. */
  readonly text: string;
  readonly version: number;
  readonly checked: Checked;
  readonly diagnostics: readonly Diagnostic[];
  readonly index: ProgramIndex;
  /** Milliseconds the check and the index took. */
  readonly ms: number;
}

export class Workspace {
  readonly documents = new Map<string, Document>();
  /** The latest analysis of each open document (maybe of an older text: see `fresh`). */
  readonly analyses = new Map<string, Analysis>();
  /** The latest analysis whose entry file parsed: what completion and the outline fall back on. */
  readonly lastParsed = new Map<string, Analysis>();
  readonly host: Host;
  /** Parses every file the checks read, reusing the items that did not change (incremental.ts). */
  readonly parser = new IncrementalParser();

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
    this.parser.forget(file);
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
    const checked = checkProgram(file, this.host, doc.text, { parse: this.parser.parse });
    const index = indexProgram(checked.value.program, checked.value.resolved);
    const analysis: Analysis = {
      file,
      text: doc.text,
      version: doc.version,
      checked: checked.value,
      diagnostics: checked.diagnostics,
      index,
      ms: this.now() - start,
    };
    this.analyses.set(file, analysis);
    if (checked.value.program.files.get(file)?.ast) this.lastParsed.set(file, analysis);
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
      if (entry === file || a.checked.program.files.has(file)) out.push(entry);
    }
    if (!out.includes(file) && this.documents.has(file)) out.push(file);
    return out;
  }

  /** Every current analysis (for references and rename across open files, and hover on library code). */
  all(): Analysis[] {
    return [...this.analyses.values()];
  }
}
