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
  out.push(`${sevColor(`${d.severity}[${d.code}]`)}${bold(`: ${escapeControls(d.message)}`)}`);
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
    out.push(`${pad}${blue("-->")} ${escapeControls(d.span.file)}:${d.span.line}:${d.span.column}`);
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
          const to =
            mark.span.endLine === n ? Math.max(mark.span.endColumn - 1, from + 1) : Math.max(text.length, from + 1);
          const underline = (mark.primary ? "^" : "-").repeat(Math.max(1, to - from));
          const paint = mark.primary ? sevColor : blue;
          out.push(
            `${pad} ${blue("|")} ${" ".repeat(from)}${paint(underline + (mark.message ? ` ${escapeControls(mark.message)}` : ""))}`,
          );
        }
      }
      out.push(`${pad} ${blue("|")}`);
    }
    for (const l of labelsElsewhere) {
      out.push(
        `${pad} ${blue("=")} ${bold("note")}: ${escapeControls(l.message)} (${escapeControls(l.span.file)}:${l.span.line}:${l.span.column})`,
      );
    }
    for (const note of d.notes) out.push(`${pad} ${blue("=")} ${bold("note")}: ${escapeControls(note)}`);
    if (d.help) out.push(`${pad} ${blue("=")} ${bold("help")}: ${escapeControls(d.help)}`);
  } else {
    for (const note of d.notes) out.push(`  = note: ${escapeControls(note)}`);
    if (d.help) out.push(`  = help: ${escapeControls(d.help)}`);
  }
  return out.join("\n");
}

export function renderDiagnostics(
  ds: readonly Diagnostic[],
  lookup: SourceLookup,
  options: RenderOptions = {},
): string {
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

/** A source line as shown in a code frame: a tab as one space, and every other control character as one
 *  visible character in its place, so that columns stay true: C0 controls and DEL as their Unicode control
 *  pictures (U+2400–U+241F, U+2421: ESC shows as ␛; rustc's emitter does the same, its table
 *  `OUTPUT_REPLACEMENTS` in rustc_errors), C1 controls
 *  (U+0080–U+009F) as U+FFFD. A terminal never receives an escape sequence from a spec. */
function expandTabs(s: string): string {
  const line = s.length > maxLineShown ? `${s.slice(0, maxLineShown)} …` : s;
  return line.replace(/\t/g, " ").replace(controls, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? "\u2421" : "\ufffd";
  });
}

/** C0 controls but tab and line feed, DEL, and C1 controls: what a terminal may act on. */
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `s` with every terminal control character (C0 but tab and line feed, DEL, C1) written as `\xNN`: for
 *  messages, notes and file names in rendered text (JSON output carries them as they are, escaped by JSON). */
export function escapeControls(s: string): string {
  return s.replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
