/**
 * The fast parser against mvdan/sh on real data: every command of the labelled development set and
 * every obfuscated variant of it (bench/classify/obfuscate.ts) that the fast path accepts must parse
 * to the same AST, statement positions included, as the full parser gives it.
 *
 *   node --import tsx bench/classify/fastparse-agree.ts [--data FILE]
 *
 * Prints JSON: how many inputs, how many the fast path took (and of those, how many use `$`
 * expansions or loops), and every disagreement (expected: none). Exit 1 on any disagreement.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ParsedScript } from '../../src/classify/ast.js';
import { fastParse } from '../../src/classify/fastparse.js';
import { createShellParser } from '../../src/classify/parse.js';
import { canonAst } from './ast-canon.js';
import { variants } from './obfuscate.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { data: { type: 'string', default: resolve(repoRoot, '../shared/data/classifier-dev/cases.jsonl') } } });

const full = createShellParser();
const commands = readFileSync(values.data!, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { command: string }).command);
let inputs = 0;
let fast = 0;
let expansions = 0;
let loops = 0;
const disagreements: string[] = [];
for (const c of commands) {
  for (const src of [c, ...variants(c).map((v) => v.command)]) {
    inputs++;
    const f = fastParse(src);
    if (f === null) continue;
    fast++;
    if (src.includes('$')) expansions++;
    if (/\b(?:while|until)\b/.test(src) && JSON.stringify(f).includes('"t":"while"')) loops++;
    // A trailing newline is outside the fast subset, so this forces the full parser.
    const m = full.parse(`${src}\n`);
    if (!m.ok || canonAst(m.script) !== canonAst(f)) disagreements.push(src);
  }
}
console.log(JSON.stringify({ inputs, fastParsed: fast, withExpansions: expansions, withLoops: loops, disagreements }, null, 2));
process.exitCode = disagreements.length ? 1 : 0;
