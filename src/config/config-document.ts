import { extname } from 'node:path';
import { ConfigError } from './config-error.js';

/**
 * Parsing a hardware or energy-table file into plain data, with the limits that keep a hostile
 * file to a one-line error: nesting depth, YAML alias expansions, duplicate keys (YAML and JSON).
 * The file size is bounded before this (read-text.ts, CONFIG_FILE_MAX_BYTES).
 */

/** Deepest nesting a config document may have; real ones use 4 (`energy.sram[0].size`). */
export const CONFIG_MAX_DEPTH = 32;

/**
 * YAML alias nodes a document may resolve (the yaml package's `maxAliasCount`): aliases that
 * expand to aliases grow exponentially (an "alias bomb"); real hardware files use none.
 */
export const CONFIG_MAX_ALIASES = 100;

function tooDeep(source: string, where: string): ConfigError {
  return new ConfigError(source, where, `nested more than ${CONFIG_MAX_DEPTH} levels deep`);
}

/** Parses the text of a hardware file: JSON for `.json`, YAML otherwise (YAML also reads JSON). */
export async function parseConfigDocument(text: string, source: string): Promise<unknown> {
  const doc =
    extname(source).toLowerCase() === '.json' ? parseJson(text, source) : await parseYaml(text, source);
  checkDepth(doc, source);
  return doc;
}

/**
 * JSON with its structure checked first, in one pass without recursion: depth bounded (V8's
 * JSON.parse and every later walk would otherwise recurse once per level) and duplicate keys
 * refused (JSON.parse silently keeps the last one; the YAML reader refuses them too).
 */
function parseJson(text: string, source: string): unknown {
  scanJsonStructure(text, source);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(
      source,
      '',
      // V8 quotes the text around the error, newlines included: one line it must stay.
      `not valid JSON (${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')})`,
    );
  }
}

interface JsonFrame {
  readonly isObject: boolean;
  readonly path: string;
  readonly keys: Set<string>;
  /** Objects: the next string is a key. Arrays: the index of the current element. */
  expectKey: boolean;
  index: number;
}

/**
 * Walks the JSON text's brackets and strings: throws on nesting past CONFIG_MAX_DEPTH and on a key
 * repeated in one object (keys compared after unescaping, so "a" and "\u0061" are the same key).
 * Malformed text is left for JSON.parse to report; this pass only needs to never misjudge valid JSON.
 */
export function scanJsonStructure(text: string, source: string): void {
  const stack: JsonFrame[] = [];
  const here = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    return top.isObject ? top.path : `${top.path}[${top.index}]`;
  };
  let lastString: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j;
      const top = stack[stack.length - 1];
      if (top?.isObject && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(raw) as string;
        } catch {
          return; // a malformed key: JSON.parse reports it
        }
        const path = top.path ? `${top.path}.${key}` : key;
        if (top.keys.has(key)) throw new ConfigError(source, path, 'duplicate key');
        top.keys.add(key);
        top.expectKey = false;
        lastString = key;
      }
    } else if (ch === '{' || ch === '[') {
      if (stack.length >= CONFIG_MAX_DEPTH) throw tooDeep(source, here());
      const parent = stack[stack.length - 1];
      const base = parent
        ? parent.isObject
          ? `${parent.path ? `${parent.path}.` : ''}${lastString ?? ''}`
          : here()
        : '';
      stack.push({ isObject: ch === '{', path: base, keys: new Set(), expectKey: ch === '{', index: 0 });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top?.isObject) top.expectKey = true;
      else if (top) top.index++;
    }
  }
}

async function parseYaml(text: string, source: string): Promise<unknown> {
  const yaml = await import('yaml');
  checkYamlNesting(text, source, yaml);
  const doc = yaml.parseDocument(text, { uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const where = first.linePos?.[0] ? `line ${first.linePos[0].line}` : '';
    throw new ConfigError(source, where, `not valid YAML (${first.message.split('\n')[0]})`);
  }
  try {
    return doc.toJS({ maxAliasCount: CONFIG_MAX_ALIASES }) as unknown;
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ConfigError(
        source,
        '',
        `aliases expand too far (more than ${CONFIG_MAX_ALIASES} alias resolutions; an alias bomb?)`,
      );
    }
    // Aliases nesting anchored nodes inside each other can still build a structure deeper than the
    // stack: the text passed the nesting scan, so this is the aliases' doing.
    if (error instanceof RangeError) throw tooDeep(source, '');
    throw error;
  }
}

/**
 * Bounds how deep the YAML parser will recurse, before it runs: on each line, indentation plus the
 * block indicators (`- `, `? `, `: `) on it plus the open flow brackets bound the nesting
 * level there. Uses the yaml package's own lexer (iterative), so quotes and comments are honoured.
 * Generous by design (an indentation column counts as a level): a document it passes is then
 * checked exactly by checkDepth.
 */
function checkYamlNesting(text: string, source: string, yaml: typeof import('yaml')): void {
  const limit = CONFIG_MAX_DEPTH * 4;
  let flow = 0;
  let line = 1;
  let level = 0;
  let lineStart = true;
  for (const token of new yaml.Lexer().lex(text)) {
    const type = yaml.CST.tokenType(token);
    if (type === 'newline') {
      line++;
      lineStart = true;
      level = flow;
      continue;
    }
    if (type === 'space' && lineStart) level += token.length;
    else if (type === 'flow-map-start' || type === 'flow-seq-start') {
      flow++;
      level++;
    } else if (type === 'flow-map-end' || type === 'flow-seq-end') {
      flow = Math.max(0, flow - 1);
    } else if (
      flow === 0 &&
      (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind')
    ) {
      // Only in block context: a flow mapping's many `:` on one line sit at one level.
      level++;
    }
    if (type !== 'space') lineStart = false;
    if (level > limit) {
      throw new ConfigError(source, `line ${line}`, `nested more than ${CONFIG_MAX_DEPTH} levels deep`);
    }
  }
}

/** The parsed document's depth, measured without recursion. */
function checkDepth(doc: unknown, source: string): void {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: doc, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= CONFIG_MAX_DEPTH) throw tooDeep(source, path);
    const entries = Array.isArray(value)
      ? value.map((v, i) => [`${path}[${i}]`, v] as const)
      : Object.entries(value).map(([k, v]) => [path ? `${path}.${k}` : k, v] as const);
    for (const [childPath, child] of entries) stack.push({ value: child, depth: depth + 1, path: childPath });
  }
}
