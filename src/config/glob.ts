// Globs over `bucket/key` for the cache rules: `*` is a run of characters other than `/`, `**` any run at
// all, `?` one character other than `/`; everything else is literal. Case-sensitive, like S3 keys.
//
// Matched by running the pattern's automaton over the key (one pass, a set of states), not by a
// backtracking RegExp: keys are chosen by clients, and a RegExp for a glob such as `b/**a**a**a**b`
// takes seconds on one 1 KiB key. Literal heads and tails are checked first, so the usual globs
// (`bucket/prefix/**`, `bucket/**.parquet`) cost a `startsWith` and an `endsWith`.

/** `?`, `*` and `**`; a literal token is the one-character string itself. */
const ONE = 0;
const STAR = 1;
const GLOBSTAR = 2;
type Token = string | typeof ONE | typeof STAR | typeof GLOBSTAR;

export interface Glob {
  readonly source: string;
  matches(path: string): boolean;
}

export function compileGlob(source: string): Glob {
  const tokens = tokenize(source);
  const first = tokens.findIndex((t) => typeof t !== 'string');
  if (first === -1) return { source, matches: (path) => path === source };
  const last = tokens.length - 1 - [...tokens].reverse().findIndex((t) => typeof t !== 'string');
  const prefix = tokens.slice(0, first).join('');
  const suffix = tokens.slice(last + 1).join('');
  const middle = tokens.slice(first, last + 1);
  const matchMiddle = middleMatcher(middle);
  return {
    source,
    matches(path) {
      if (path.length < prefix.length + suffix.length) return false;
      if (!path.startsWith(prefix) || !path.endsWith(suffix)) return false;
      return matchMiddle(path.slice(prefix.length, path.length - suffix.length));
    },
  };
}

/** By code point, so that `?` is one character even outside the Basic Multilingual Plane. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const chars = [...source];
  for (let i = 0; i < chars.length; ) {
    const char = chars[i] as string;
    if (char !== '*') {
      tokens.push(char === '?' ? ONE : char);
      i += 1;
      continue;
    }
    let end = i;
    while (chars[end] === '*') end += 1;
    tokens.push(end - i >= 2 ? GLOBSTAR : STAR); // `***` is `**`
    i = end;
  }
  return tokens;
}

/** `middle` starts and ends with a wildcard; the two commonest shapes skip the automaton. */
function middleMatcher(middle: readonly Token[]): (text: string) => boolean {
  if (middle.length === 1 && middle[0] === GLOBSTAR) return () => true;
  if (middle.length === 1 && middle[0] === STAR) return (text) => !text.includes('/');
  return automaton(middle);
}

/**
 * Thompson's construction, simulated: state `i` means "tokens before i are matched". Each character
 * moves every live state at most once, so a match costs O(length × tokens) at worst and usually far
 * less, as literal tokens kill states at once. The marks are reused between calls (no allocation).
 */
function automaton(tokens: readonly Token[]): (text: string) => boolean {
  const end = tokens.length;
  const marks = new Uint32Array(end + 1);
  let generation = 0;
  // From `anyFrom` on, only `**` remain: a state that gets there has matched whatever follows.
  let anyFrom = end;
  while (anyFrom > 0 && tokens[anyFrom - 1] === GLOBSTAR) anyFrom -= 1;

  const add = (states: number[], state: number): void => {
    for (let s = state; marks[s] !== generation; s += 1) {
      marks[s] = generation;
      states.push(s);
      const token = tokens[s];
      if (token !== STAR && token !== GLOBSTAR) return; // a star may also match nothing
    }
  };
  const nextGeneration = (): void => {
    generation += 1;
    if (generation === 0xffffffff) {
      marks.fill(0);
      generation = 1;
    }
  };

  return (text) => {
    nextGeneration();
    let live: number[] = [];
    add(live, 0);
    for (const char of text) {
      if (anyFrom < end && live.some((s) => s >= anyFrom)) return true;
      nextGeneration();
      const next: number[] = [];
      for (const s of live) {
        const token = tokens[s];
        if (token === undefined) continue; // the accepting state has nothing left to match
        if (token === GLOBSTAR) add(next, s);
        else if (token === STAR) {
          if (char !== '/') add(next, s);
        } else if (token === ONE) {
          if (char !== '/') add(next, s + 1);
        } else if (token === char) add(next, s + 1);
      }
      if (next.length === 0) return false;
      live = next;
    }
    return live.includes(end);
  };
}
