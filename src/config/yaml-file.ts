// The YAML configuration file, read with the positions of its values, so that a problem names the line
// an operator has to change (`kura.yaml:5: cache.max_size: …`).

import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type YAMLError } from 'yaml';

export type YamlFile =
  | {
      ok: true;
      raw: unknown;
      /** `file:line` of the value at a dotted path (or of its nearest enclosing one); null when absent. */
      where(parts: readonly string[]): string | null;
    }
  | { ok: false; message: string };

export function readYamlFile(path: string): YamlFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read ${path}: ${(err as Error).message}` };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const [error] = doc.errors;
  if (error !== undefined) {
    return { ok: false, message: `${path}:${errorLine(error, text)}: not valid YAML: ${error.message}` };
  }
  return {
    ok: true,
    raw: doc.toJS() ?? {},
    where(parts) {
      for (let n = parts.length; n > 0; n--) {
        const node = doc.getIn(parts.slice(0, n), true);
        if (isNode(node) && node.range) return `${path}:${lines.linePos(node.range[0]).line}`;
      }
      return null;
    },
  };
}

/**
 * The 1-based line an error is about. The parser places a mis-indented `key: value` under the scalar
 * before it (`http_port: 80` then `   bad: 1` is reported at the `80`, one line early): for that error
 * the line meant is the next non-blank one.
 */
function errorLine(error: YAMLError, text: string): number {
  const at = error.pos[0];
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  if (error.code !== 'BLOCK_AS_IMPLICIT_KEY') return line;
  const rest = text.split('\n');
  for (let i = line; i < rest.length; i++) if ((rest[i] ?? '').trim() !== '') return i + 1;
  return line;
}
