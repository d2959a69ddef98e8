// Renders diagnostics for people (a code frame in the style of rustc) and for machines (JSON).
import type { Diagnostic, Span } from "./diagnostic.js";
import { SourceText } from "./source.js";

export interface RenderOptions {
  /** ANSI colours; the CLI turns them on only for a TTY (and honours NO_COLOR / FORCE_COLOR). */
  color?: boolean;
}

type Paint = (s: string) => string;

function painter(on: boolean, code: string): Paint {
  return on ? (s) => `\u001b[${code}m${s}\u001b[0m` : (s) => s;
}

/** The text of `span`'s file, if known. */
export type SourceLookup = (file: string) => SourceText | undefined;

export function renderDiagnostic(d: Diagnostic, lookup: SourceLookup, options: RenderOptions = {}): string {
  const color = options.color ?? false;
  const bold = painter(color, "1");
  const sevColor = painter(color, d.severity === "error" ? "1;31" : d.severity === "warning" ? "1;33" : "1;36");
  const blue = painter(color, "1;34");
  const out: string[] = [];
  out.push(`${sevColor(`${d.severity}[${d.code}]`)}${bold(`: ${d.message}`)}`);
  const source = d.span ? lookup(d.span.file) : undefined;
  if (d.span) {
    const labelsElsewhere = d.labels.filter((l) => l.span.file !== d.span!.file);
    const lines = new Map<number, { span: Span; message: string; primary: boolean }[]>();
    const add = (span: Span, message: string, primary: boolean) => {
      const list = lines.get(span.line) ?? [];
      list.push({ span, message, primary });
      lines.set(span.line, list);
    };
    add(d.span, "", true);
    for (const l of d.labels) if (l.span.file === d.span.file) add(l.span, l.message, false);
    const numbers = [...lines.keys()].sort((a, b) => a - b);
    const width = String(numbers[numbers.length - 1] ?? 1).length;
    const pad = " ".repeat(width);
    out.push(`${pad}${blue("-->")} ${d.span.file}:${d.span.line}:${d.span.column}`);
    if (source) {
      out.push(`${pad} ${blue("|")}`);
      let previous = -1;
      for (const n of numbers) {
        if (previous !== -1 && n > previous + 1) out.push(blue("...").padEnd(width + 2));
        previous = n;
        const text = expandTabs(source.lineText(n));
        out.push(`${blue(String(n).padStart(width))} ${blue("|")} ${text}`);
        for (const mark of lines.get(n)!.sort((a, b) => a.span.column - b.span.column)) {
          const from = mark.span.column - 1;
          const to = mark.span.endLine === n ? Math.max(mark.span.endColumn - 1, from + 1) : Math.max(text.length, from + 1);
          const underline = (mark.primary ? "^" : "-").repeat(Math.max(1, to - from));
          const paint = mark.primary ? sevColor : blue;
          out.push(`${pad} ${blue("|")} ${" ".repeat(from)}${paint(underline + (mark.message ? ` ${mark.message}` : ""))}`);
        }
      }
      out.push(`${pad} ${blue("|")}`);
    }
    for (const l of labelsElsewhere) out.push(`${pad} ${blue("=")} ${bold("note")}: ${l.message} (${l.span.file}:${l.span.line}:${l.span.column})`);
    for (const note of d.notes) out.push(`${pad} ${blue("=")} ${bold("note")}: ${note}`);
    if (d.help) out.push(`${pad} ${blue("=")} ${bold("help")}: ${d.help}`);
  } else {
    for (const note of d.notes) out.push(`  = note: ${note}`);
    if (d.help) out.push(`  = help: ${d.help}`);
  }
  return out.join("\n");
}

export function renderDiagnostics(ds: readonly Diagnostic[], lookup: SourceLookup, options: RenderOptions = {}): string {
  return ds.map((d) => renderDiagnostic(d, lookup, options) + "\n").join("\n");
}

/** One-line summary such as `2 errors, 1 warning`. */
export function summary(ds: readonly Diagnostic[]): string {
  const errors = ds.filter((d) => d.severity === "error").length;
  const warnings = ds.filter((d) => d.severity === "warning").length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(errors, "error")}, ${plural(warnings, "warning")}`;
}

/** The JSON form of a diagnostic (stable; documented in README.md). */
export function diagnosticToJson(d: Diagnostic): object {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...(d.span ? { span: d.span } : {}),
    labels: d.labels,
    ...(d.help !== undefined ? { help: d.help } : {}),
    notes: d.notes,
  };
}

/** Longest source line shown in a code frame; longer lines are cut around the marks (columns stay true
 *  for the part shown). */
const maxLineShown = 400;

function expandTabs(s: string): string {
  const line = s.length > maxLineShown ? `${s.slice(0, maxLineShown)} …` : s;
  return line.replace(/\t/g, " ");
}
