// Module customization hooks for record-imports.mjs (they run on Node's loader thread).
import fs from "node:fs";

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const log = process.env["NNC_IMPORT_LOG"];
  if (log) fs.appendFileSync(log, `${result.url}\n`);
  return result;
}
