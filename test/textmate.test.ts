// The TextMate grammar (editors/vscode/syntaxes/nn.tmLanguage.json), used where no language server runs
// (GitHub, web editors, VS Code before the server starts), tokenized with the engine VS Code itself uses
// (vscode-textmate with the Oniguruma regular expressions of vscode-oniguruma). Every example is tokenized
// and compared with a golden scope file, test/textmate/<example>.scopes: one line per source line that has
// scoped tokens, each token as `text=scope` (the last, most specific scope; neighbours with one scope joined;
// `source.nn` alone is omitted).
// Re-bless: `npm run bless` (NNC_BLESS=1).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import * as oniguruma from "vscode-oniguruma";
import * as textmate from "vscode-textmate";
import { beforeAll, describe, expect, it } from "vitest";
import { layers, losses } from "../src/vocabulary/layers.js";

const grammarFile = "editors/vscode/syntaxes/nn.tmLanguage.json";
const goldenDir = "test/textmate";
const bless = process.env["NNC_BLESS"] === "1";
const grammarJson = JSON.parse(fs.readFileSync(grammarFile, "utf8")) as textmate.IRawGrammar & {
  repository: Record<string, { patterns?: { match?: string; name?: string }[] }>;
};

let grammar: textmate.IGrammar;

beforeAll(async () => {
  const wasm = fs.readFileSync(
    path.join(path.dirname(createRequire(import.meta.url).resolve("vscode-oniguruma")), "onig.wasm"),
  );
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) =>
      scope === "source.nn" ? textmate.parseRawGrammar(fs.readFileSync(grammarFile, "utf8"), grammarFile) : null,
  });
  const g = await registry.loadGrammar("source.nn");
  if (!g) throw new Error("grammar did not load");
  grammar = g;
});

/** `text=scope` per scoped token, one output line per source line that has any. */
function scopes(text: string): string {
  const out: string[] = [];
  let state = textmate.INITIAL;
  text.split(/\r?\n/).forEach((line, i) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    const toks: { text: string; scope: string; end: number }[] = [];
    for (const t of r.tokens) {
      const scope = t.scopes[t.scopes.length - 1]!;
      const text = line.slice(t.startIndex, t.endIndex);
      const last = toks[toks.length - 1];
      if (last && last.scope === scope && last.end === t.startIndex)
        Object.assign(last, { text: last.text + text, end: t.endIndex });
      else toks.push({ text, scope, end: t.endIndex });
    }
    const shown = toks.filter((t) => t.scope !== "source.nn" && t.text.trim() !== "");
    if (shown.length > 0) out.push(`${i + 1}: ${shown.map((t) => `${t.text.trim()}=${t.scope}`).join("  ")}`);
  });
  return out.join("\n") + "\n";
}

function examples(dir = "examples"): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) =>
      d.isDirectory() ? examples(path.join(dir, d.name)) : d.name.endsWith(".nn") ? [path.join(dir, d.name)] : [],
    )
    .sort();
}

function alternation(pattern: { match?: string } | undefined): string[] {
  const m = /\((\w+(?:\|\w+)+)\)/.exec(pattern?.match ?? "");
  return m ? m[1]!.split("|").sort() : [];
}

describe("TextMate grammar", () => {
  it("names exactly the registered layer kinds and losses", () => {
    const expression = grammarJson.repository["expression"]!.patterns!;
    const statement = grammarJson.repository["statement"]!.patterns!;
    expect(alternation(expression.find((p) => p.name === "support.function.layer.nn"))).toEqual(
      layers.map((l) => l.kind).sort(),
    );
    const loss = statement.find((p) => p.match?.includes("(loss)"));
    expect(alternation({ match: loss?.match?.replace(/^.*?\(loss\)/, "") })).toEqual(losses.map((l) => l.name).sort());
  });

  it.each(examples())("%s", (file) => {
    const got = scopes(fs.readFileSync(file, "utf8"));
    const golden = path.join(
      goldenDir,
      `${file
        .replace(/^examples\//, "")
        .replace(/[/\\]/g, "__")
        .replace(/\.nn$/, "")}.scopes`,
    );
    if (bless || !fs.existsSync(golden)) {
      if (!bless) throw new Error(`${golden} is missing: run npm run bless`);
      fs.writeFileSync(golden, got);
    }
    expect(got).toBe(fs.readFileSync(golden, "utf8"));
  });

  it("scopes the constructs a reader looks for", () => {
    const s = scopes(
      'import { Mlp } from "./lib.nn"\nmodel M(x: f32[4]) {\n  dense(8, bias = false) as fc1  # hidden\n  Mlp(4) -> relu\n  expect params == 40\n}\n',
    );
    expect(s).toContain("model=storage.type.model.nn  M=entity.name.type.model.nn");
    expect(s).toContain("x=variable.parameter.input.nn");
    expect(s).toContain("f32=support.type.primitive.nn");
    expect(s).toContain("dense=support.function.layer.nn");
    expect(s).toContain("bias=variable.parameter.option.nn");
    expect(s).toContain("false=constant.language.boolean.nn");
    expect(s).toContain("fc1=entity.name.label.nn");
    expect(s).toContain("# hidden=comment.line.number-sign.nn");
    expect(s).toContain("Mlp=entity.name.function.call.nn");
    expect(s).toContain("->=keyword.operator.arrow.nn");
    expect(s).toContain("==keyword.operator.comparison.nn");
    expect(s).toContain('"./lib.nn"=string.quoted.double.nn');
  });

  it("scopes a repeat's name template and index", () => {
    const s = scopes('model M(x: f32[4]) {\n  repeat 3 as "layer_{i}" from 1 with i {\n    dense(4 * i)\n  }\n}\n');
    expect(s).toContain("repeat=keyword.control.repeat.nn");
    expect(s).toContain("as=keyword.other.as.nn");
    expect(s).toContain('"layer_{i}"=string.quoted.double.nn');
    expect(s).toContain("from=keyword.control.repeat.nn");
    expect(s).toContain("with=keyword.control.repeat.nn");
    expect(s).toContain("i=variable.parameter.index.nn");
  });

  it("scopes a reuse (`share = name`) as an option naming a layer, keyword-led paths included", () => {
    const s = scopes(
      "model M(a: f32[4], b: f32[4]) {\n  ea = a -> Enc as encoder\n  eb = b -> Enc(share = encoder)\n  dense(4, share = model.fc)\n}\n",
    );
    // The instance a reuse names is scoped as the `as` name that defines it.
    expect(s).toContain(
      "share=variable.parameter.option.nn  ==keyword.operator.assignment.nn  encoder=entity.name.label.nn",
    );
    expect(s).toContain(
      "share=variable.parameter.option.nn  ==keyword.operator.assignment.nn  model.fc=entity.name.label.nn",
    );
  });

  it("scopes a named value as a definition and an option as an option, even at the start of a line inside a call", () => {
    const s = scopes(
      "model M(x: f32[t <= 4, 8]) {\n  h = x -> attention(\n    2,\n    causal = true,\n  ) as attn\n  h + x\n}\n",
    );
    expect(s).toContain("2: h=variable.other.definition.nn  ==keyword.operator.assignment.nn");
    expect(s).toContain(
      "4: causal=variable.parameter.option.nn  ==keyword.operator.assignment.nn  true=constant.language.boolean.nn",
    );
    expect(s).toContain("attn=entity.name.label.nn");
  });
});
