// nnc's version, as printed by `nnc --version` and in `@generated` headers (kept equal to package.json's by a test).
export const version = "0.1.0";
