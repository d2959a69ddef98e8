// The version of `nnc count --format json`'s schema (schema.ts), written into every report as
// `schemaVersion`. 1: the first (no `schemaVersion` field). 2: layer shapes as arrays of sizes
// (`inputShapes`, `outputShape`, `outputShapes`; the text form moved to `outputShapeText`), tensor shapes,
// copies in the model, trainable counts per row, and with `--batch` the memory figures; later, additively,
// graph edges of kind `share` (a call applying an instance again).
export const countSchemaVersion = 2;
