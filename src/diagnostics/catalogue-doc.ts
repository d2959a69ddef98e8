// The "Diagnostics" section of the language reference (grammar/README.md), generated from the catalogue so
// that every code is documented: `npm run grammar` rewrites the part between the two markers, and
// test/catalogue.test.ts fails when it is stale.
import { catalogue, retired, type Templates } from "./catalogue.js";

export const docStart = "<!-- diagnostics:start (generated from src/diagnostics/catalogue.ts by `npm run grammar`) -->";
export const docEnd = "<!-- diagnostics:end -->";

const escape = (s: string): string => s.replace(/\|/g, "\\|");

/** A code's message template(s) for the table: each variant on its own line, named. */
function messageCell(message: Templates): string {
  if (typeof message === "string") return escape(message);
  return Object.entries(message)
    .map(([variant, template]) => `${variant}: ${escape(template)}`)
    .join("<br>");
}

/** The Markdown table of every code, in code order, and the retired codes with what replaced them. */
export function catalogueMarkdown(): string {
  const rows = Object.entries(catalogue)
    .map(([name, e]) => ({ name, ...e }))
    .sort((a, b) => (a.code < b.code ? -1 : 1))
    .map((e) => `| ${e.code} | ${e.name} | ${e.severity} | ${escape(e.summary)} | ${messageCell(e.message)} |`);
  const lines = [
    docStart,
    "| code | name | severity | reported when | message (`{…}`: placeholder) |",
    "|---|---|---|---|---|",
    ...rows,
  ];
  if (retired.length > 0) {
    lines.push("", "Retired codes (never reported again, never reused):", "");
    for (const r of retired) lines.push(`- ${r.code} (${r.name}): ${escape(r.meant)}; now ${r.replacedBy.join(", ")}.`);
  }
  lines.push(docEnd);
  return lines.join("\n");
}

/** `readme` with its generated section replaced (or `undefined` when the markers are missing). */
export function withCatalogue(readme: string): string | undefined {
  const start = readme.indexOf(docStart);
  const end = readme.indexOf(docEnd);
  if (start < 0 || end < start) return undefined;
  return readme.slice(0, start) + catalogueMarkdown() + readme.slice(end + docEnd.length);
}
