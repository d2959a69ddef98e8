// The bundler plugin (unplugin): `import * as mnist from "./mnist.nn"` in Vite, Rollup, esbuild and
// webpack gives the generated module as JavaScript. Declarations are written beside the spec (only when
// they changed), diagnostics become the bundler's errors with file:line:col and code frames, and every
// file the spec imports is watched. docs/plugin.md is the user's guide.
import path from "node:path";
import {
  createUnplugin,
  type UnpluginContext,
  type UnpluginFactory,
  type UnpluginInstance,
  type UnpluginMessage,
} from "unplugin";
import { readExisting, writeFileAtomic } from "../program/node-host.js";
import type { PluginOptions } from "./options.js";
import {
  buildSpecModule,
  parseId,
  pluginOptionsSchema,
  type Problem,
  type ResolvedPluginOptions,
} from "./spec-module.js";

export type { PluginOptions } from "./options.js";

/** Ids the plugin loads: a `.nn` file, maybe with a query (`?model=Name`, or a bundler's own). */
const specId = /\.nn(?:\?.*)?$/;
/** Imports the plugin resolves itself: a relative or absolute `.nn` path with a query, which Rollup (and
 *  Rolldown) would otherwise look for as a file named with the query. */
const queriedSpec = /\.nn\?/;

export const unpluginFactory: UnpluginFactory<PluginOptions | undefined, false> = (given, meta) => {
  const parsed = pluginOptionsSchema.safeParse(given ?? {});
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ");
    throw new Error(`nnc plugin: invalid options: ${message}`);
  }
  const options: ResolvedPluginOptions = parsed.data;
  return {
    name: "nnc",
    enforce: "pre",
    resolveId: {
      filter: { id: queriedSpec },
      handler(id, importer) {
        // Vite, esbuild (a path's `suffix`) and webpack (`resourceQuery`) resolve queries themselves.
        if (meta.framework !== "rollup" && meta.framework !== "rolldown") return null;
        const { file, query } = parseId(id);
        if (!(file.startsWith("./") || file.startsWith("../") || path.isAbsolute(file))) return null;
        const base = importer ? path.dirname(parseId(importer).file) : process.cwd();
        return `${path.resolve(base, file)}?${query}`;
      },
    },
    load: {
      filter: { id: specId },
      async handler(id) {
        if (othersQuery(parseId(id).query)) return null;
        const built = await buildSpecModule(id, options);
        for (const file of built.watchFiles) this.addWatchFile(file);
        for (const warning of built.warnings) this.warn(message(warning, id));
        if (built.error) return fail(this, built.error, id);
        if (built.declaration) {
          const written = writeIfChanged(built.declaration.file, built.declaration.text);
          if (written !== true)
            this.warn(
              message(
                { message: `warning[NN0003]: cannot write ${built.declaration.file}: ${written}`, code: "NN0003" },
                id,
              ),
            );
        }
        return built.code;
      },
    },
    esbuild: { onLoadFilter: specId, loader: "js" },
  };
};

/** Queries that ask another plugin for something else than the compiled module (Vite's `?raw` text,
 *  `?url` address, workers): the plugin leaves those imports alone. */
const othersQueries = ["raw", "url", "inline", "worker", "sharedworker"];

function othersQuery(query: string): boolean {
  const keys = new URLSearchParams(query);
  return othersQueries.some((k) => keys.has(k));
}

/** Reports `problem` as the bundler's error. Rollup and Vite throw from `this.error`; esbuild and webpack
 *  collect the error and fail the build after the hook, which must still return a module (not empty:
 *  esbuild would take an empty one for no answer and look for a loader of its own). */
function fail(context: UnpluginContext, problem: Problem, id: string): string {
  context.error(message(problem, id));
  return "/* nnc: this spec has errors, reported by the bundler */\n";
}

function message(problem: Problem, id: string): UnpluginMessage {
  const loc = problem.loc
    ? {
        file: problem.loc.file,
        line: problem.loc.line,
        // Bundlers count columns from 0 (esbuild documents it; Rollup's own `this.error(…, pos)` does);
        // the rendered `--> file:line:col` in the message counts from 1, as editors do.
        column: problem.loc.column - 1,
      }
    : undefined;
  // No `stack`: a diagnostic is not a crash, and bundlers print a stack when there is one.
  return { message: problem.message, id, code: problem.code, plugin: "nnc", stack: "", ...(loc ? { loc } : {}) };
}

/** Writes `text` to `file` unless it already holds exactly that (atomically: temporary file, rename).
 *  True, or the reason it failed. */
function writeIfChanged(file: string, text: string): true | string {
  if (readExisting(file) === text) return true;
  try {
    writeFileAtomic(file, text);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/** The plugin for every bundler unplugin supports; `nnc.vite()`, `nnc.rollup()`, … */
export const nnc: UnpluginInstance<PluginOptions | undefined, false> = createUnplugin(unpluginFactory);
export default nnc;

type Instance = UnpluginInstance<PluginOptions | undefined, false>;
export const vite: Instance["vite"] = nnc.vite;
export const rollup: Instance["rollup"] = nnc.rollup;
export const rolldown: Instance["rolldown"] = nnc.rolldown;
export const esbuild: Instance["esbuild"] = nnc.esbuild;
export const webpack: Instance["webpack"] = nnc.webpack;
export const rspack: Instance["rspack"] = nnc.rspack;
