// The linter over nnc's own code (run by `npm run lint`, and by `npm test` through test/lint.test.ts):
// ESLint's and typescript-eslint's recommended rules, without type information (fast: the type checker
// already runs with `strict` in `npm run typecheck`). Generated modules have their own, stricter check
// (test/generated-strict.test.ts).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "generated/**", "node_modules/**", "test/.tmp/**", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        Buffer: "readonly",
        console: "readonly",
        process: "readonly",
        performance: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        structuredClone: "readonly",
        globalThis: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Scope chains are walked with `for (let s = this; s; s = s.parent)`, which this rule flags.
      "@typescript-eslint/no-this-alias": "off",
      // Control characters are matched on purpose: rendered diagnostics make them visible.
      "no-control-regex": "off",
    },
  },
);
