import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeFrame, encodeOpenVerdict, encodeVerdict, FRAME, RequestDecoder, type OpenVerdict } from '../../src/mediate/exec-wire.js';
import { launchSandbox } from '../../src/sandbox/launch.js';
import { cleanup, defaultSpec, makeCtx, planFor, type Ctx } from '../sandbox/harness.js';
import { writeFile } from '../helpers/tmp.js';

/**
 * The helper's own checks on open verdicts, against a scripted supervisor: it opens only inside
 * an ask zone and only by a canonical path, whatever the supervisor says. A verdict that breaks
 * that is a protocol error (the sandbox ends), never an open — so a supervisor bug cannot hand a
 * file outside the zones to the tracee. Controls: the same script gets the zone file when the
 * verdict names it.
 */

let c: Ctx;
before(() => (c = makeCtx()));
after(() => cleanup(c));

async function withVerdict(verdict: (zone: string) => OpenVerdict) {
  const zone = join(c.ws, 'zone');
  mkdirSync(zone, { recursive: true });
  writeFile(zone, 'in.txt', 'ZONE-FILE\n');
  writeFile(c.ws, 'out.txt', 'OUTSIDE-FILE\n');
  const plan = await planFor(defaultSpec(c, ['/bin/cat', join(zone, 'in.txt')], { mediateExec: true, cwd: c.ws, askPaths: [zone] }));
  const h = launchSandbox(plan, { stdio: ['ignore', 'pipe', 'pipe'] });
  const decoder = new RequestDecoder();
  h.mediation!.on('data', (chunk: Buffer) => {
    decoder.split(chunk, (f) => {
      if (f.readUInt32LE(0) === FRAME.HELLO) return; // the frames pipe is not taken: frames stay here
      const r = decodeFrame(f);
      if (r.kind === 1) h.mediation!.write(encodeVerdict(r.id, r.pid, { action: 'continue', cacheable: false }));
      else if (r.kind === 3) h.mediation!.write(encodeOpenVerdict(r.id, r.pid, verdict(zone)));
    });
  });
  h.mediation!.on('error', () => {});
  let stdout = '';
  h.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  h.stderr?.resume();
  const timer = setTimeout(() => h.kill('SIGKILL'), 30_000);
  const result = await h.result;
  clearTimeout(timer);
  return { stdout, result };
}

const open = (path: string): OpenVerdict => ({ action: 'open', path, oflags: 0, mode: 0, snapshot: true, cloexec: true });

test('control: an open verdict naming the zone file hands it over', { timeout: 60_000 }, async () => {
  const { stdout, result } = await withVerdict((zone) => open(join(zone, 'in.txt')));
  assert.equal(stdout, 'ZONE-FILE\n');
  assert.equal(result.exitCode, 0);
});

test('an open verdict outside every zone, or through "..", ends the sandbox instead of opening', { timeout: 60_000 }, async () => {
  for (const bad of [(_z: string) => join(c.ws, 'out.txt'), (z: string) => `${z}/../out.txt`, (z: string) => `${z}/./in.txt`, (z: string) => `${z}x/in.txt`]) {
    const { stdout, result } = await withVerdict((zone) => open(bad(zone)));
    assert.doesNotMatch(stdout, /OUTSIDE-FILE|ZONE-FILE/, bad('Z'));
    assert.notEqual(result.exitCode, 0, `${bad('Z')}: the tree was ended`);
  }
});
