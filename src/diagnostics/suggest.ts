// "Did you mean …?" suggestions by edit distance, for misspelt layer, option, block, constant and value names.

/** The Damerau–Levenshtein distance between `a` and `b` in its optimal-string-alignment form: insertions,
 *  deletions, substitutions and transpositions of two adjacent characters each cost 1 (no substring is
 *  edited twice). Compares UTF-16 code units, which is exact for identifiers (ASCII). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const width = b.length + 1;
  // Three rows suffice: the transposition looks two rows back.
  let before = new Array<number>(width).fill(0);
  let previous = Array.from({ length: width }, (_, j) => j);
  let current = new Array<number>(width).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length]!;
}

/** The largest distance at which a candidate is still suggested for a name of this length. */
export function suggestionThreshold(name: string): number {
  return Math.max(1, Math.floor(name.length / 3));
}

/**
 * The candidate that `name` most likely misspells, or `undefined` when none is close enough.
 * - A candidate equal to `name` ignoring case wins outright (`Dense` → `dense`).
 * - Otherwise the candidate at the smallest distance within `max(1, floor(len / 3))`, never one that shares
 *   nothing with `name` (a distance as large as both lengths).
 * - Ties go to the candidate closest in length, then to the alphabetically first: the result never depends
 *   on the order of `candidates`.
 * `name` itself is never suggested.
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  const threshold = suggestionThreshold(name);
  let best: { candidate: string; distance: number; lengthGap: number } | undefined;
  let caseMatch: string | undefined;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    if (candidate.toLowerCase() === lower) {
      if (caseMatch === undefined || candidate < caseMatch) caseMatch = candidate;
      continue;
    }
    const distance = editDistance(name, candidate);
    if (distance > threshold || distance >= Math.max(name.length, candidate.length)) continue;
    const lengthGap = Math.abs(candidate.length - name.length);
    if (
      best === undefined ||
      distance < best.distance ||
      (distance === best.distance &&
        (lengthGap < best.lengthGap || (lengthGap === best.lengthGap && candidate < best.candidate)))
    ) {
      best = { candidate, distance, lengthGap };
    }
  }
  return caseMatch ?? best?.candidate;
}

/** The `help:` text for a misspelt name: ``did you mean `bias`?``, or `undefined` without a suggestion. */
export function didYouMeanHelp(name: string, candidates: Iterable<string>): string | undefined {
  const suggestion = didYouMean(name, candidates);
  return suggestion === undefined ? undefined : `did you mean \`${suggestion}\`?`;
}
