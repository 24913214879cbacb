import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** `warden doctor` through the real CLI and the helper's real probe of this kernel. */

const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tempDir('warden-doctor-'), LANG: 'C.UTF-8' };
const wardenHome = join(env.HOME, 'warden');

interface Layer {
  layer: string;
  supported: boolean;
  required: 'required' | 'degradable' | 'optional';
  detail: string;
}

function doctorJson(extra: Record<string, string> = {}): { runnable: boolean; landlockAbi: number; layers: Layer[] } {
  const r = warden(['doctor', '--json'], { env: { ...env, WARDEN_HOME: wardenHome, ...extra } });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { runnable: boolean; landlockAbi: number; layers: Layer[] };
}

test('doctor --json: every layer, whether it is required, degradable or optional, and why; this machine can run', () => {
  const d = doctorJson();
  const by = new Map(d.layers.map((l) => [l.layer, l]));
  for (const l of ['userns', 'mountns', 'pidns', 'netns', 'seccomp-notify']) assert.equal(by.get(l)?.required, 'required', l);
  for (const l of ['landlock', 'seccomp', 'pidmax']) assert.equal(by.get(l)?.required, 'degradable', l);
  for (const l of ['cgroup', 'private-cow']) assert.equal(by.get(l)?.required, 'optional', l);
  for (const l of d.layers) assert.ok(l.detail.length > 0, `${l.layer} says why`);
  assert.equal(d.runnable, true, 'the test machine runs warden (the rest of the suite depends on it)');
  assert.equal(d.runnable, d.layers.every((l) => l.supported || l.required !== 'required'));
});

test('doctor: one line per layer in the same order, and the verdict; a capped Landlock ABI is reported as such', () => {
  const r = warden(['doctor'], { env: { ...env, WARDEN_HOME: wardenHome } });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^kernel \S+ \(\S+\), uid \d+, Landlock ABI \d+$/);
  const names = lines.slice(1, -1).map((l) => /^ {2}(ok|no) (\S+)/.exec(l)?.[2]);
  assert.deepEqual(names, doctorJson().layers.map((l) => l.layer));
  assert.match(lines.at(-1)!, /^warden run: all required layers are available$/);
  const capped = doctorJson({ WARDEN_LANDLOCK_ABI_MAX: '0' });
  const ll = capped.layers.find((l) => l.layer === 'landlock')!;
  assert.equal(ll.supported, false);
  assert.equal(capped.landlockAbi, 0);
  assert.equal(capped.runnable, true, 'landlock is degradable: run still starts with --allow-degraded landlock');
});

test('doctor: a bad option is a usage error', () => {
  const r = warden(['doctor', '--bogus'], { env: { ...env, WARDEN_HOME: wardenHome } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^warden: .*usage: warden doctor \[--json\]/m);
});
