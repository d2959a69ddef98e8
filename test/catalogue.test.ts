import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { catalogue, retired, type Templates } from "../src/diagnostics/catalogue.js";
import { withCatalogue } from "../src/diagnostics/catalogue-doc.js";
import { diagnostic } from "../src/diagnostics/diagnostic.js";
import { fillTemplate, placeholdersOf } from "../src/diagnostics/message.js";

const entries = Object.entries(catalogue);

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? listTs(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The range of the catalogue's header comment: the first digit of the code after `NN`. */
const ranges: Record<string, string> = {
  "0": "command line and files",
  "1": "lexing and parsing",
  "2": "names and resolution",
  "3": "types, shapes and sizes",
  "4": "layer arguments and options",
  "5": "parameters, ties, counts, assertions",
  "6": "imports",
  "7": "weight files and checkpoints",
  "9": "code generation",
};

describe("diagnostic catalogue", () => {
  it("every code is emitted somewhere in src/ or grammar/ (by its name, outside the catalogue)", () => {
    const sources = [...listTs("src"), ...listTs("grammar")]
      .filter((f) => !f.endsWith(path.join("diagnostics", "catalogue.ts")))
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const unused = entries.map(([name]) => name).filter((name) => !new RegExp(`["'\`]${name}["'\`]`).test(sources));
    expect(unused).toEqual([]);
  });

  it("every code matches NNdddd", () => {
    const bad = entries.filter(([, e]) => !/^NN\d{4}$/.test(e.code)).map(([name, e]) => `${name}: ${e.code}`);
    expect(bad).toEqual([]);
  });

  it("no code is used twice", () => {
    const byCode = new Map<string, string[]>();
    for (const [name, e] of entries) byCode.set(e.code, [...(byCode.get(e.code) ?? []), name]);
    const dupes = [...byCode]
      .filter(([, names]) => names.length > 1)
      .map(([code, names]) => `${code}: ${names.join(", ")}`);
    expect(dupes).toEqual([]);
  });

  it("every code is in one of the documented ranges", () => {
    const outside = entries.filter(([, e]) => !(e.code.charAt(2) in ranges)).map(([name, e]) => `${name}: ${e.code}`);
    expect(outside).toEqual([]);
  });

  it("every summary follows the message style (lowercase start, no final period)", () => {
    const bad = entries
      .filter(([, e]) => e.summary.length === 0 || /^[A-Z]/.test(e.summary) || e.summary.endsWith("."))
      .map(([name]) => name);
    expect(bad).toEqual([]);
  });

  it("every code is documented in the language reference (grammar/README.md, generated: npm run grammar)", () => {
    const readme = fs.readFileSync("grammar/README.md", "utf8");
    expect(withCatalogue(readme)).toBe(readme);
    const missing = entries.filter(([, e]) => !readme.includes(`| ${e.code} |`)).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it("retired codes stay reserved: not in the catalogue, not emitted, replaced by catalogued codes", () => {
    const codes = new Set(entries.map(([, e]) => e.code));
    for (const r of retired) {
      expect(codes.has(r.code), r.code).toBe(false);
      for (const c of r.replacedBy) expect(codes.has(c), `${r.code} → ${c}`).toBe(true);
    }
  });
});

// ── Message templates ────────────────────────────────────────────────────────────────────────────────

function templatesOf(entry: object): Templates | undefined {
  return (entry as { message?: Templates }).message;
}

/** Each template of an entry, with its variant (undefined for a single template). */
function eachTemplate(message: Templates): [string | undefined, string][] {
  return typeof message === "string" ? [[undefined, message]] : Object.entries(message);
}

/** Whether a call writes its message as text (a string, a template string, a concatenation) instead of giving
 *  its template's arguments. `diagnostic()` takes no string (TypeScript refuses one: see below); this reads
 *  the source, so that a cast cannot slip one through either. */
function writesWholeMessage(site: Site): boolean {
  if (!site.message) return false;
  return alternatives(site.message, site.sf).some((alt) => {
    let e: ts.Expression = alt;
    while (ts.isAsExpression(e) || ts.isParenthesizedExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
    return (
      ts.isStringLiteral(e) ||
      ts.isNoSubstitutionTemplateLiteral(e) ||
      ts.isTemplateExpression(e) ||
      ts.isBinaryExpression(e)
    );
  });
}

interface Site {
  readonly where: string;
  readonly names: readonly string[] | undefined;
  readonly message: ts.Expression | undefined;
  readonly sf: ts.SourceFile;
}

/** Every call of `diagnostic(…)` in a file. */
function diagnosticCalls(file: string): Site[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const sites: Site[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "diagnostic") {
      const [name, , message] = node.arguments;
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      sites.push({ where: `${file}:${line}`, names: name && literalsOf(name, sf), message, sf });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return sites;
}

/** The initializer of the nearest `const name = …` before `at` in its file. */
function constValue(name: string, at: ts.Node, sf: ts.SourceFile): ts.Expression | undefined {
  let found: ts.Expression | undefined;
  const visit = (node: ts.Node): void => {
    if (node.getStart(sf) >= at.getStart(sf)) return;
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.initializer)
      found = node.initializer;
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The expressions an argument can be: both branches of `a ? b : c`, through `const` names. */
function alternatives(expr: ts.Expression, sf: ts.SourceFile): ts.Expression[] {
  if (ts.isParenthesizedExpression(expr)) return alternatives(expr.expression, sf);
  if (ts.isConditionalExpression(expr))
    return [...alternatives(expr.whenTrue, sf), ...alternatives(expr.whenFalse, sf)];
  if (ts.isIdentifier(expr)) {
    const value = constValue(expr.text, expr, sf);
    return value ? alternatives(value, sf) : [expr];
  }
  return [expr];
}

/** The string literals an expression can be, or undefined when it can be something else. */
function literalsOf(expr: ts.Expression, sf: ts.SourceFile): string[] | undefined {
  const out: string[] = [];
  for (const alt of alternatives(expr, sf)) {
    if (ts.isStringLiteral(alt)) out.push(alt.text);
    else return undefined;
  }
  return out;
}

/** The property names of an object literal (after `const` names), or undefined when it is not one. */
function keysOf(expr: ts.Expression, sf: ts.SourceFile): string[][] | undefined {
  const out: string[][] = [];
  for (const alt of alternatives(expr, sf)) {
    if (!ts.isObjectLiteralExpression(alt)) return undefined;
    const keys: string[] = [];
    for (const p of alt.properties) {
      if ((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && ts.isIdentifier(p.name))
        keys.push(p.name.text);
      else return undefined;
    }
    out.push(keys.sort());
  }
  return out;
}

/** Problems of one templated call: a template it names that does not exist, a placeholder it leaves out or
 *  an argument no placeholder takes. `undefined` when the call passes a whole message. */
function problemsOf(site: Site): string[] | undefined {
  // A whole message: anything but an arguments object or a `[variant, arguments]` list.
  const alts = site.message ? alternatives(site.message, site.sf) : [];
  if (!alts.every((alt) => ts.isObjectLiteralExpression(alt) || ts.isArrayLiteralExpression(alt))) return undefined;
  const problems: string[] = [];
  if (!site.names || !site.message) return [`${site.where}: the code of a templated call cannot be read`];
  for (const name of site.names) {
    const message = templatesOf(catalogue[name as keyof typeof catalogue] ?? {});
    for (const alt of alternatives(site.message, site.sf)) {
      if (message === undefined) {
        problems.push(`${site.where}: ${name} has no template`);
        continue;
      }
      let candidates: [string | undefined, string][];
      let args: ts.Expression | undefined = alt;
      if (ts.isArrayLiteralExpression(alt)) {
        const [variant, variantArgs] = alt.elements;
        const variants = variant && literalsOf(variant, site.sf);
        // A variant passed through a parameter (`misplaced(…, "inputTwice")`): every variant must fit.
        candidates = eachTemplate(message).filter(([v]) => v !== undefined && (!variants || variants.includes(v)));
        for (const v of variants ?? [])
          if (!candidates.some(([c]) => c === v)) problems.push(`${site.where}: ${name} has no variant \`${v}\``);
        args = variantArgs;
      } else {
        candidates = typeof message === "string" ? [[undefined, message]] : [];
        if (typeof message !== "string") problems.push(`${site.where}: ${name} needs a variant`);
      }
      const keySets = args && keysOf(args, site.sf);
      if (!keySets) {
        problems.push(`${site.where}: the arguments are not an object literal`);
        continue;
      }
      for (const [variant, template] of candidates) {
        const wanted = placeholdersOf(template).sort();
        for (const keys of keySets) {
          if (keys.join() !== wanted.join())
            problems.push(`${site.where}: ${name}${variant ? `/${variant}` : ""} takes {${wanted}}, given {${keys}}`);
        }
      }
    }
  }
  return problems;
}

describe("message templates", () => {
  const sites = [...listTs("src"), ...listTs("grammar")].flatMap(diagnosticCalls);

  it("every templated call supplies exactly its template's placeholders (read from the source)", () => {
    expect(sites.length).toBeGreaterThan(100);
    const problems = sites.flatMap((site) => problemsOf(site) ?? []);
    expect(problems).toEqual([]);
  });

  it("no call writes a whole message", () => {
    const whole = sites.filter(writesWholeMessage).map((site) => site.where);
    expect(whole).toEqual([]);
  });

  it("every catalogue entry has a template", () => {
    const missing = entries.filter(([, e]) => templatesOf(e) === undefined).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it("every template follows the message style, and braces that are no placeholder hold a space or `…`", () => {
    const bad: string[] = [];
    for (const [name, e] of entries) {
      const message = templatesOf(e);
      if (message === undefined) continue;
      for (const [variant, template] of eachTemplate(message)) {
        const at = `${name}${variant ? `/${variant}` : ""}`;
        if (/^[A-Z]/.test(template) || template.endsWith(".")) bad.push(`${at}: style`);
        // The type-level reading of placeholders (message.ts) skips a brace group holding one of these;
        // the run-time one skips any that is not a name. They agree when every other group holds one.
        for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
          const inner = m[1]!;
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner) && !/[ …,.`():=<>'"-]/.test(inner)) bad.push(`${at}: {${inner}}`);
        }
      }
      if (typeof message === "object" && Object.keys(message).length < 2) bad.push(`${name}: one variant`);
    }
    expect(bad).toEqual([]);
  });

  it("fills placeholders once, keeps other braces, and picks a variant", () => {
    expect(fillTemplate("{what} takes no `{ … }` body", { what: "`{x}`" })).toBe("`{x}` takes no `{ … }` body");
    expect(fillTemplate("{a} / {b} does not divide exactly", { a: 7n, b: 2 })).toBe("7 / 2 does not divide exactly");
    expect(placeholdersOf("`{name}` is {what}, {name}")).toEqual(["name", "what"]);
    expect(diagnostic("UnknownLayer", undefined, ["unknown", { name: "desne" }]).message).toBe("unknown layer `desne`");
    expect(diagnostic("DuplicateDefinition", undefined, ["value", { name: "h" }]).message).toBe(
      "value `h` is bound twice",
    );
  });

  it("TypeScript checks placeholder names and variants per code (tsc -p tsconfig.json type-checks this file)", () => {
    // @ts-expect-error: a whole message instead of a template's arguments
    diagnostic("UnknownLayer", undefined, "unknown layer `x`");
    // @ts-expect-error: a placeholder the template does not have
    diagnostic("InexactDivision", undefined, { a: 1n, c: 2n });
    // @ts-expect-error: a placeholder left out
    diagnostic("InexactDivision", undefined, { a: 1n });
    // @ts-expect-error: a variant the code does not have
    diagnostic("DuplicateDefinition", undefined, ["twice", { name: "x" }]);
    // @ts-expect-error: a code with variants needs one
    diagnostic("DuplicateDefinition", undefined, { name: "x" });
    // @ts-expect-error: an argument no placeholder takes
    diagnostic("DuplicateOption", undefined, { name: "x", extra: 1 });
    expect(diagnostic("InexactDivision", undefined, { a: 1n, b: 2n }).message).toBe("1 / 2 does not divide exactly");
  });
});
