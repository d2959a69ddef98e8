// One model of a spec, checked and counted, for what takes exactly one (`nnc graph`, each
// side of `nnc diff`): a file with several models needs `--model` (a usage error, as `nnc verify`), one
// with none is NN0010. No model is returned for a spec with errors.
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import type { CountedModel } from "../count/report.js";
import { checkProgram } from "./check.js";
import type { Host } from "./load.js";

export interface OneModel {
  readonly model?: CountedModel;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Map<string, SourceText>;
}

/** `verb` completes "defines no model to …". */
export function oneModel(
  file: string,
  host: Host,
  text: string | undefined,
  model: string | undefined,
  verb: string,
): OneModel {
  const checked = checkProgram(file, host, text, model !== undefined ? { model } : {});
  const sources = new Map([...checked.value.program.files].map(([f, l]) => [f, l.source]));
  const diagnostics = sortDiagnostics(checked.diagnostics);
  if (hasErrors(diagnostics)) return { diagnostics, sources };
  const models = checked.value.models;
  const problem = notOneModel(
    file,
    models.map((m) => m.analysis.name),
    verb,
    "counted",
  );
  if (problem) {
    diagnostics.push(problem);
    return { diagnostics, sources };
  }
  const m = models[0]!;
  return { model: { file, analysis: m.analysis, figures: m.figures }, diagnostics, sources };
}

/** Why a checked file does not come to exactly one model (`undefined` when it does): none is NN0010 ("defines
 *  no model to `verb`"; `past` completes "a file with only blocks is imported, not …"), several a usage
 *  error naming them. */
export function notOneModel(
  file: string,
  names: readonly string[],
  verb: string,
  past: string,
): Diagnostic | undefined {
  if (names.length === 1) return undefined;
  return names.length === 0
    ? diagnostic("NoSuchModel", undefined, ["none", { file, command: verb }], {
        help: `a file with only blocks is imported, not ${past}`,
      })
    : diagnostic(
        "UsageError",
        undefined,
        ["severalModels", { file, count: names.length, models: names.map((n) => `\`${n}\``).join(", ") }],
        { help: `name one with \`--model ${names[0]}\`` },
      );
}
