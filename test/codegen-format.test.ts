// `nnc build`'s output is prettier's: the module is formatted piece by piece (the model's code each time,
// the shared runtime once per process; src/emit/compile.ts), and the result is a fixed point of prettier
// run on the whole file — nothing is left unformatted, and no piece's formatting depends on the others.
import fs from "node:fs";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { compile } from "../src/emit/compile.js";

describe("formatted output", () => {
  it.each(["mnist-mlp", "lenet5", "tiny-gpt"])(
    "examples/%s.nn: prettier on the whole module changes nothing",
    async (name) => {
      const file = `examples/${name}.nn`;
      const source = fs.readFileSync(file, "utf8");
      const host = { readFile: (f: string) => ({ ok: true as const, text: fs.readFileSync(f, "utf8") }) };
      const result = await compile(source, {}, file, host);
      expect(result.files.length).toBe(1);
      const text = result.files[0]!.text;
      expect(await prettier.format(text, { parser: "babel-ts", printWidth: 120 })).toBe(text);
      // The same bytes again, with the runtime's formatting now cached.
      expect((await compile(source, {}, file, host)).files[0]!.text).toBe(text);
    },
  );
});
