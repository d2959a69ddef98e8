// A generated module as JavaScript plus its declaration file, for projects and bundlers that do not
// compile TypeScript (`nnc build --emit js`, the bundler plugin). Generated modules are self-contained
// (no imports) and annotate every export, so each file is transpiled on its own: no program, no type
// checking (the tests type-check the TypeScript), declarations under `isolatedDeclarations`.
import { ts } from "ts-morph";

export interface JavaScriptModule {
  /** ES2022 JavaScript, an ES module. */
  readonly js: string;
  /** The module's declarations (`.d.ts`). */
  readonly dts: string;
}

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  isolatedDeclarations: true,
  declaration: true,
  removeComments: false,
  newLine: ts.NewLineKind.LineFeed,
};

/** Emits `text` (a generated module's TypeScript) as JavaScript and declarations. Throws only on an
 *  internal error: a generated module whose declarations cannot be emitted in isolation. */
export function toJavaScript(text: string, fileName = "module.ts"): JavaScriptModule {
  const js = ts.transpileModule(text, { compilerOptions, fileName }).outputText;
  const declarations = ts.transpileDeclaration(text, { compilerOptions, fileName, reportDiagnostics: true });
  const problems = declarations.diagnostics ?? [];
  if (problems.length > 0) {
    const first = ts.flattenDiagnosticMessageText(problems[0]!.messageText, "\n");
    throw new Error(`internal: the declarations of ${fileName} cannot be emitted in isolation: ${first}`);
  }
  return { js, dts: declarations.outputText };
}
