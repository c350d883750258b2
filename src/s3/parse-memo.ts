// Parses of request texts that clients repeat request after request: the Host header, a signature's
// credential and signed-header list. A client sends the same few, so one parse serves every request that
// repeats it. The results must be frozen or read-only: every such request shares them.

/** How many texts a memo holds; past it, it starts again (a scan of distinct texts costs no memory). */
const REMEMBERED = 1_000;

export class ParseMemo<T> {
  readonly #parse: (text: string) => T;
  readonly #values = new Map<string, T>();
  /**
   * The text asked for last, compared before the map: a text of this request is a new string, and a
   * map looks a new string up in V8's string table before it compares, which costs more than comparing
   * it with the last one.
   */
  #lastText: string | undefined;
  #lastValue: T | undefined;

  constructor(parse: (text: string) => T) {
    this.#parse = parse;
  }

  get(text: string): T {
    if (text === this.#lastText) return this.#lastValue as T;
    let value: T;
    if (this.#values.has(text)) {
      value = this.#values.get(text) as T;
    } else {
      value = this.#parse(text);
      if (this.#values.size >= REMEMBERED) this.#values.clear();
      this.#values.set(text, value);
    }
    this.#lastText = text;
    this.#lastValue = value;
    return value;
  }
}
