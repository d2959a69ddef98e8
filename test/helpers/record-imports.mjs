// `node --import ./test/helpers/record-imports.mjs …`: appends the URL of every ES module the process
// resolves (its own imports and those of its dependencies' ES modules) to the file named by
// NNC_IMPORT_LOG, one per line. For the test that `nnc check` and `nnc count` load no code generator.
import { register } from "node:module";

register("./record-imports-hooks.mjs", import.meta.url);
