// Real builds by each of the four bundlers with the nnc plugin, for test/plugin.test.ts and
// test/browser.test.ts: one ES-module bundle from one entry, or the bundler's failure as plain text plus
// the structured location the bundler carries (where it carries one).
import fs from "node:fs";
import path from "node:path";
import * as esbuildApi from "esbuild";
import { rollup as rollupApi } from "rollup";
import * as viteApi from "vite";
import webpackApi from "webpack";
import { esbuild, rollup, vite, webpack, type PluginOptions } from "../../src/plugin/index.js";

export const bundlers = ["rollup", "esbuild", "vite", "webpack"] as const;
export type Bundler = (typeof bundlers)[number];

export type BuildResult =
  /** `watchFiles`: what the bundler will watch, where a build tells (Rollup, webpack). */
  | { ok: true; file: string; watchFiles: readonly string[] }
  | { ok: false; text: string; loc: { file: string; line: number; column: number } | undefined };

/** Bundles `entry` into `outDir` (an ES module for Node or a browser). Never throws for a failed build. */
export async function build(
  bundler: Bundler,
  entry: string,
  outDir: string,
  options?: PluginOptions,
): Promise<BuildResult> {
  fs.rmSync(outDir, { recursive: true, force: true });
  try {
    switch (bundler) {
      case "rollup": {
        const bundle = await rollupApi({ input: entry, plugins: [rollup(options)], onwarn: () => {} });
        const out = await bundle.write({ dir: outDir, format: "es", entryFileNames: "bundle.mjs" });
        await bundle.close();
        return { ok: true, file: path.join(outDir, out.output[0].fileName), watchFiles: bundle.watchFiles };
      }
      case "esbuild": {
        const file = path.join(outDir, "bundle.mjs");
        await esbuildApi.build({
          entryPoints: [entry],
          bundle: true,
          format: "esm",
          outfile: file,
          plugins: [esbuild(options)],
          logLevel: "silent",
        });
        // esbuild exposes watched files only to its watch mode (tested on its own).
        return { ok: true, file, watchFiles: [] };
      }
      case "vite": {
        await viteApi.build({
          configFile: false,
          logLevel: "silent",
          root: path.dirname(entry),
          plugins: [vite(options)],
          build: {
            lib: { entry, formats: ["es"], fileName: () => "bundle.mjs" },
            outDir,
            minify: false,
            emptyOutDir: true,
            write: true,
          },
        });
        // Vite's build hands back no watch list (its watch mode is Rollup's, tested with Rollup).
        return { ok: true, file: path.join(outDir, "bundle.mjs"), watchFiles: [] };
      }
      case "webpack": {
        const stats = await new Promise<webpackApi.Stats>((resolve, reject) =>
          webpackApi(
            {
              mode: "production",
              entry,
              target: "web",
              context: path.dirname(entry),
              output: { path: outDir, filename: "bundle.mjs", module: true, library: { type: "module" } },
              experiments: { outputModule: true },
              optimization: { minimize: false },
              plugins: [webpack(options)],
              infrastructureLogging: { level: "none" },
            },
            (error, result) =>
              error || !result ? reject(error ?? new Error("webpack returned nothing")) : resolve(result),
          ),
        );
        if (stats.hasErrors())
          return { ok: false, text: stats.compilation.errors.map((e) => e.message).join("\n"), loc: undefined };
        return { ok: true, file: path.join(outDir, "bundle.mjs"), watchFiles: [...stats.compilation.fileDependencies] };
      }
    }
  } catch (error) {
    return failure(bundler, error);
  }
}

function failure(bundler: Bundler, error: unknown): BuildResult {
  const e = error as {
    message?: string;
    loc?: { file: string; line: number; column: number };
    errors?: {
      text?: string;
      message?: string;
      location?: { file: string; line: number; column: number };
      loc?: { file: string; line: number; column: number };
    }[];
  };
  if (bundler === "esbuild" && e.errors?.[0]) {
    const first = e.errors[0];
    return {
      ok: false,
      text: e.errors.map((x) => x.text).join("\n"),
      loc: first.location
        ? { file: first.location.file, line: first.location.line, column: first.location.column }
        : undefined,
    };
  }
  if (bundler === "vite" && e.errors?.[0]) {
    return { ok: false, text: String(e.message), loc: e.errors[0].loc };
  }
  return { ok: false, text: String(e.message ?? error), loc: e.loc };
}
