// Known failures of the semantic fuzzer: each entry names a defect that is recorded (in the issue or the
// report that found it) but not fixed yet, and matches only that defect's failures. A failing case is
// allow-listed only when every one of its failures matches one entry; nothing is skipped silently (the
// run's summary counts allow-listed cases).
import type { Failure } from "./oracle.js";
import type { FuzzCase } from "./spec-gen.js";

export interface KnownFailure {
  /** The defect, and where it is recorded. */
  readonly defect: string;
  readonly matches: (c: FuzzCase, f: Failure) => boolean;
}

export const knownFailures: readonly KnownFailure[] = [];
