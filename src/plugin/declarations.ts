// The declaration file the bundler plugin writes beside a spec. One model: the module's own declarations.
// Several models: one namespace per model, so `import * as m from "./x.nn"` types `m.Encoder.forward`.
// Namespaces are cut from each module's `.d.ts` by its syntax tree (statements with their comments, the
// `declare` keyword removed: a namespace body is already ambient), not by patterns over the text.
import { ts } from "ts-morph";

/** Words that cannot name a namespace; a model so named gets a namespace with a `_` suffix, exported
 *  under the model's own name (export names may be any identifier name). */
const reserved = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if " +
    "import in instanceof new null return super switch this throw true try typeof var void while with " +
    "implements interface let package private protected public static yield await arguments eval"
  ).split(" "),
);

/** The header of every declaration file the plugin writes. */
export function declarationHeader(spec: string): string {
  return `// Types of \`${spec}\` as the nnc bundler plugin compiles it; written by the plugin on every build.\n`;
}

/** Declarations of a module that exports each model's module as a namespace named after the model. */
export function namespacedDeclarations(modules: readonly { model: string; dts: string }[]): string {
  const out: string[] = [];
  const exported: string[] = [];
  for (const { model, dts } of modules) {
    const local = reserved.has(model) ? `${model}_` : model;
    out.push(`declare namespace ${local} {`);
    out.push(indent(namespaceBody(dts)));
    out.push("}");
    exported.push(local === model ? model : `${local} as ${model}`);
  }
  out.push(`export { ${exported.join(", ")} };`);
  return out.join("\n") + "\n";
}

/** The statements of a module's declarations, as text fit for a namespace body. */
function namespaceBody(dts: string): string {
  const file = ts.createSourceFile("module.d.ts", dts, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const parts: string[] = [];
  for (const statement of file.statements) {
    if (ts.isExportDeclaration(statement) || ts.isImportDeclaration(statement) || ts.isExportAssignment(statement)) {
      // Generated modules import nothing; an empty `export {}` marker has no place in a namespace.
      if (ts.isExportDeclaration(statement) && !statement.exportClause?.getText().replace(/[{}\s]/g, "")) continue;
      throw new Error(`internal: a generated module's declarations contain \`${statement.getText().slice(0, 60)}\``);
    }
    const start = statement.getFullStart();
    const removed = (ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : []).filter(
      (m) => m.kind === ts.SyntaxKind.DeclareKeyword,
    );
    let text = "";
    let at = start;
    for (const m of removed) {
      text += dts.slice(at, m.getStart(file));
      at = m.getEnd();
      while (dts[at] === " ") at++;
    }
    text += dts.slice(at, statement.getEnd());
    parts.push(text.replace(/^\n+/, ""));
  }
  return parts.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => (line.length > 0 ? `    ${line}` : line))
    .join("\n");
}
