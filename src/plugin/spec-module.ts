// What the bundler plugin makes of one `.nn` import, independent of the bundler: the JavaScript module,
// the declarations to write beside the spec, every file read (for watching), and the diagnostics rendered
// as bundler errors with a location. Never throws on user input.
import path from "node:path";
import { z } from "zod";
import type { PluginOptions } from "./options.js";

export type { PluginOptions } from "./options.js";
import { capDiagnostics, diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostic, summary } from "../diagnostics/render.js";
import type { SourceText } from "../diagnostics/source.js";
import { compileFile, compileOptionsSchema } from "../emit/compile.js";
import { toJavaScript } from "../emit/javascript.js";
import { nodeHost } from "../program/node-host.js";
import type { Host } from "../program/load.js";
import { declarationHeader, namespacedDeclarations } from "./declarations.js";

export const pluginOptionsSchema = compileOptionsSchema
  .pick({ dtype: true, target: true, unrollLimit: true, tileColumns: true })
  .extend({
    /** Where the declarations of `x.nn` go: `x.nn.d.ts` (found by `moduleResolution` `bundler`,
     *  `node10` and CommonJS `node16`, no flag needed), `x.d.nn.ts` (found in every mode, ES-module
     *  `node16`/`nodenext` included, with `allowArbitraryExtensions`), or `false` for none. */
    declarations: z.union([z.literal(".nn.d.ts"), z.literal(".d.nn.ts"), z.literal(false)]).default(".nn.d.ts"),
  })
  .strict();

/** The schema accepts exactly what the interface says (checked at compile time). */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : never) : never;
const _optionsMatch: SameKeys<Required<PluginOptions>, Required<z.input<typeof pluginOptionsSchema>>> = true;
void _optionsMatch;
export type ResolvedPluginOptions = z.output<typeof pluginOptionsSchema>;

/** A problem as bundlers take it: the whole rendered report, and where the first error is. */
export interface Problem {
  readonly message: string;
  /** The diagnostic code (`NN…`) of the first diagnostic in `message`. */
  readonly code: string;
  /** 1-based line and column, as in the rendered `--> file:line:col`. */
  readonly loc?: { readonly file: string; readonly line: number; readonly column: number };
}

export interface SpecModule {
  /** The JavaScript module; empty when `error` is set. */
  readonly code: string;
  /** Every file read or looked for (the spec and its imports, missing ones included), absolute. */
  readonly watchFiles: readonly string[];
  readonly error?: Problem;
  readonly warnings: readonly Problem[];
  /** The declarations to write (only for an import without `?model=`, and only without errors). */
  readonly declaration?: { readonly file: string; readonly text: string };
}

/** Splits a module id into the spec's path and the model named by `?model=` (if any). */
export function parseId(id: string): { file: string; model: string | undefined; query: string } {
  const q = id.indexOf("?");
  if (q === -1) return { file: id, model: undefined, query: "" };
  const query = id.slice(q + 1);
  return { file: id.slice(0, q), model: new URLSearchParams(query).get("model") ?? undefined, query };
}

/** A file's name in diagnostics and in the generated header: relative to the working directory when
 *  inside it (as compilers print paths), else absolute. */
export function displayName(file: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, file);
  return relative === "" || relative.split(path.sep)[0] === ".." || path.isAbsolute(relative) ? file : relative;
}

/** Compiles the spec `id` names (an absolute path, maybe with `?model=Name`). */
export async function buildSpecModule(
  id: string,
  options: ResolvedPluginOptions,
  host: Host = nodeHost,
): Promise<SpecModule> {
  const { file: absolute, model } = parseId(id);
  const cwd = process.cwd();
  const watched = new Set<string>([absolute]);
  // Reads by display name (relative to the working directory), recording every file looked for.
  const recording: Host = {
    readFile(name) {
      const target = path.resolve(cwd, name);
      watched.add(target);
      return host.readFile(target);
    },
  };
  const name = displayName(absolute, cwd);
  const compileOptions = compileOptionsSchema.parse({
    dtype: options.dtype,
    target: options.target,
    unrollLimit: options.unrollLimit,
    tileColumns: options.tileColumns,
    format: false,
    ...(model !== undefined ? { model } : {}),
  });
  const result = await compileFile(name, recording, compileOptions);
  const watchFiles = [...watched];
  const lookup = (f: string): SourceText | undefined => result.sources.get(f);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  const warnings = result.diagnostics.filter((d) => d.severity !== "error").map((d) => problem([d], lookup, cwd));
  if (errors.length > 0) return { code: "", watchFiles, error: problem(errors, lookup, cwd), warnings };
  if (result.files.length === 0) {
    const none = diagnostic("NoSuchModel", undefined, ["none", { file: name, command: "compile" }], {
      help: "a file with only blocks is imported by other specs, not by code",
    });
    return { code: "", watchFiles, error: problem([none], lookup, cwd), warnings };
  }
  const modules = result.files.map((f) => ({ model: f.model, ...toJavaScript(f.text, f.path) }));
  const declarationFile = (text: string) =>
    model === undefined && options.declarations !== false
      ? {
          declaration: {
            file: absolute.replace(/\.nn$/, options.declarations),
            text: declarationHeader(path.basename(absolute)) + text,
          },
        }
      : {};
  if (modules.length === 1) return { code: modules[0]!.js, watchFiles, warnings, ...declarationFile(modules[0]!.dts) };
  // Several models: a namespace per model, each the module `?model=Name` gives (model names are
  // identifiers, and any identifier name may be an export name).
  const self = `./${path.basename(absolute)}`;
  const code =
    modules
      .map((m) => `export * as ${m.model} from ${JSON.stringify(`${self}?model=${encodeURIComponent(m.model)}`)};`)
      .join("\n") + "\n";
  return { code, watchFiles, warnings, ...declarationFile(namespacedDeclarations(modules)) };
}

/** Diagnostics rendered (code frames included) as one bundler message, located at the first span. */
function problem(ds: readonly Diagnostic[], lookup: (f: string) => SourceText | undefined, cwd: string): Problem {
  const shown = capDiagnostics(ds, 100);
  const message =
    shown.map((d) => renderDiagnostic(d, lookup)).join("\n\n") + (ds.length > 1 ? `\n\n${summary(ds)}` : "");
  const located = ds.find((d) => d.span !== undefined)?.span;
  return {
    message,
    code: ds[0]!.code,
    ...(located ? { loc: { file: path.resolve(cwd, located.file), line: located.line, column: located.column } } : {}),
  };
}
