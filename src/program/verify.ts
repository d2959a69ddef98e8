// The `nnc verify` pipeline, shared by the command line and the API: check the spec (one model), open the
// checkpoint, compare (weights/verify.ts). Never throws on user input.
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { verifyCheckpoint, type VerifyReport } from "../weights/verify.js";
import { checkProgram, type Checked } from "./check.js";
import type { Host } from "./load.js";
import { notOneModel } from "./one-model.js";
import { openWeightFile } from "./weight-file.js";

export interface VerifyOptions {
  /** The checkpoint: a file name, or its bytes. */
  readonly against: string | Uint8Array;
  /** The name shown for the checkpoint in messages (the file name by default). */
  readonly againstName?: string;
  readonly model?: string;
  readonly prefix?: string;
}

export interface Verified {
  readonly checked: Checked;
  /** Absent when the spec has errors, names no single model, or the checkpoint cannot be read. */
  readonly report?: VerifyReport;
}

export function verifyProgram(
  entry: string,
  host: Host,
  text: string | undefined,
  options: VerifyOptions,
): { value: Verified; diagnostics: Diagnostic[] } {
  const checked = checkProgram(entry, host, text, options.model !== undefined ? { model: options.model } : {});
  const diagnostics = sortDiagnostics(checked.diagnostics);
  if (hasErrors(diagnostics)) return { value: { checked: checked.value }, diagnostics };
  const models = checked.value.models;
  const problem = notOneModel(
    entry,
    models.map((m) => m.analysis.name),
    "verify",
    "verified",
  );
  if (problem) {
    diagnostics.push(problem);
    return { value: { checked: checked.value }, diagnostics };
  }
  const model = models[0]!;
  const name = options.againstName ?? (typeof options.against === "string" ? options.against : "the checkpoint");
  const opened = openWeightFile(options.against);
  if (!opened.ok) {
    diagnostics.push(
      opened.problem
        ? diagnostic("BadWeightFile", undefined, { file: name, problem: opened.problem.message })
        : diagnostic("FileNotReadable", undefined, [
            "read",
            { file: name, reason: opened.unreadable ?? "unknown error" },
          ]),
    );
    return { value: { checked: checked.value }, diagnostics };
  }
  try {
    const { report, diagnostics: found } = verifyCheckpoint({
      model: {
        name: model.analysis.name,
        tensors: model.analysis.tensors,
        root: model.analysis.root,
        ties: model.analysis.ties,
        params: model.figures.params,
        buffers: model.figures.buffers,
      },
      header: opened.file.header,
      readBytes: opened.file.readBytes,
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    });
    diagnostics.push(...found);
    return { value: { checked: checked.value, report }, diagnostics };
  } finally {
    opened.file.close();
  }
}
