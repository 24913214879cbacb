/**
 * `warden run` takes its seccomp program from a table the bundler compiled (no compile at
 * start-up). The table must be exactly what the compiler produces for every option set a plan
 * can ask for, and it must be the table inside run.cjs: a stale or hand-edited entry would install
 * a filter nobody reviewed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSeccompFilter } from '../../src/sandbox/seccomp/filter.js';
import { optionKey, seccompFilterFor, seccompOptionSets } from '../../src/sandbox/seccomp/precompiled.js';
import { ROOT } from '../helpers/cli.js';

const bundle = join(ROOT, 'dist', 'bundle');
const arch = ({ x64: 'x86_64', arm64: 'aarch64' } as const)[process.arch as 'x64' | 'arm64'];

test('the bundled table is the compiler’s output for every option set of this arch', (t) => {
  if (!arch) return t.skip(`no seccomp table for ${process.arch}`);
  const table = JSON.parse(readFileSync(join(bundle, 'seccomp-programs.json'), 'utf8')) as Record<string, { bytes: string; insns: number }>;
  const sets = seccompOptionSets(arch);
  assert.deepEqual(Object.keys(table).sort(), sets.map(optionKey).sort(), 'one entry per option set, no others');
  const run = readFileSync(join(bundle, 'run.cjs'), 'latin1');
  for (const o of sets) {
    const live = buildSeccompFilter(o);
    const e = table[optionKey(o)]!;
    assert.equal(e.bytes, Buffer.from(live.bytes).toString('base64'), `${optionKey(o)}: same program`);
    assert.equal(e.insns, live.insns);
    assert.ok(run.includes(e.bytes), `${optionKey(o)}: run.cjs embeds this very program`);
  }
});

test('outside the bundle the filter is compiled, description included', () => {
  for (const o of seccompOptionSets()) {
    const f = seccompFilterFor(o);
    const live = buildSeccompFilter(o);
    assert.deepEqual(Buffer.from(f.bytes), Buffer.from(live.bytes));
    assert.deepEqual(f.description, live.description);
  }
});
