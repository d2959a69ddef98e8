// Regenerates every committed generated artifact (run after `npm run build`): the grammar's EBNF and
// railroad diagrams. Tests fail when a committed artifact is stale; they never rewrite it.
import "./grammar.mjs";
