import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchSandbox } from '../../src/sandbox/launch.js';
import { encodePlan } from '../../src/sandbox/plan-encode.js';
import { tempDir } from '../helpers/tmp.js';
import { defaultSpec, makeCtx, cleanup, planFor } from './harness.js';

/**
 * The helper reads its plan to EOF before it builds anything, so the plan pipe must close as soon
 * as the plan is written, not when the supervisor's thread next returns to its event loop:
 * `warden run` keeps that thread busy right after the spawn (audit log, egress sockets). A
 * stand-in helper records when it saw EOF and how many bytes it got; the supervisor's thread is
 * kept busy meanwhile.
 */

const dir = tempDir('warden-launch-');
const out = join(dir, 'seen');
const fake = join(dir, 'fake-helper');
// Reads fd 3 to EOF, then writes "<bytes> <ms since the epoch>" and exits (no status lines).
writeFileSync(fake, `#!/bin/sh\nn=$(wc -c <&3)\necho "$n $(date +%s%3N)" > '${out}'\n`);
chmodSync(fake, 0o755);

function busy(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* a synchronous stretch of start-up work */
  }
  return Date.now();
}

async function launchAndBusy(argv: string[]): Promise<{ bytes: number; eofAt: number; busyUntil: number; planBytes: number }> {
  const c = makeCtx();
  try {
    const plan = await planFor(defaultSpec(c, argv));
    const planBytes = encodePlan({ ...plan, supervisorPid: process.pid, statusFd: 4 }).length;
    const h = launchSandbox(plan, { stdio: 'ignore', helperPath: fake });
    const busyUntil = busy(1500);
    await h.result;
    const [bytes, eofAt] = readFileSync(out, 'utf8').trim().split(' ').map(Number);
    return { bytes: bytes!, eofAt: eofAt!, busyUntil, planBytes };
  } finally {
    cleanup(c);
  }
}

test('a plan that fits in the pipe reaches EOF while the supervisor is still busy', async () => {
  const r = await launchAndBusy(['true']);
  assert.equal(r.bytes, r.planBytes);
  assert.ok(r.eofAt < r.busyUntil, `EOF ${r.busyUntil - r.eofAt} ms after the supervisor's thread was free: the helper waited for its event loop`);
});

test('a plan larger than the pipe still arrives whole', async () => {
  const r = await launchAndBusy(['true', ...Array.from({ length: 8 }, () => 'x'.repeat(64 * 1024))]);
  assert.ok(r.planBytes > 512 * 1024);
  assert.equal(r.bytes, r.planBytes);
});
