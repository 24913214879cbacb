/**
 * A real workload through the sandbox's only way out (issue 4 acceptance): `npm install` of a small
 * package inside the sandbox with the npm registry's host allowed — and the same command failing
 * cleanly (quickly, non-zero, audited deny) when it is not. Skipped when the host itself cannot
 * reach the registry (offline CI).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DnsAuditRecord, EgressAuditRecord } from '../../src/egress/index.js';
import { classifyIp } from '../../src/egress/ip.js';
import { startEgress } from '../../src/session/egress.js';
import { cleanup, defaultSpec, makeCtx, runSandboxed, sh } from '../sandbox/harness.js';
import { compile } from './helpers.js';

const registry = new URL(execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim() || 'https://registry.npmjs.org/');
const online = await fetch(registry, { signal: AbortSignal.timeout(5000) }).then(
  (r) => r.status < 500,
  () => false,
);
// Build hosts that serve the registry from a non-public address (a mirror or an intercepting
// gateway, e.g. 203.0.113.0/24 here) are denied by the proxy unless named: name it, as a policy would.
const hosts: Record<string, string> = {};
if (online) {
  const a = await lookup(registry.hostname).catch(() => null);
  if (a && classifyIp(a.address) !== 'public') hosts[registry.hostname] = a.address;
}
const c = makeCtx();
after(() => cleanup(c));

async function npmInstall(allow: string[], session: string, withHosts: boolean) {
  const records: Array<EgressAuditRecord | DnsAuditRecord> = [];
  const eg = await startEgress({ policy: compile({ network: { allow, hosts: withHosts ? hosts : {} } }), runDir: join(c.root, 'run'), session, audit: (r) => records.push(r) });
  try {
    rmSync(join(c.ws, 'node_modules'), { recursive: true, force: true });
    mkdirSync(join(c.ws, '.npm-cache'), { recursive: true });
    const t0 = Date.now();
    const r = await runSandboxed(
      defaultSpec(c, sh(`npm install --no-audit --no-fund --no-update-notifier --fetch-retries=0 --cache "$PWD/.npm-cache" --registry ${registry.href} is-number@7.0.0 2>&1`), {
        egress: eg.spec,
      }),
      { timeoutMs: 90_000 },
    );
    return { r, records, ms: Date.now() - t0 };
  } finally {
    await eg.close();
  }
}

describe('npm install inside the sandbox', { skip: online ? false : `registry ${registry.host} unreachable from the host` }, () => {
  it(`works with ${registry.hostname} allowed`, async () => {
    const { r, records } = await npmInstall([registry.hostname], 'npm-allow', true);
    assert.equal(r.result.exitCode, 0, r.stdout + r.stderr);
    assert.ok(existsSync(join(c.ws, 'node_modules', 'is-number', 'package.json')), r.stdout);
    assert.ok(records.some((x) => x.type === 'egress' && x.phase === 'end' && x.host === registry.hostname && x.decision === 'allow' && (x.bytesDown ?? 0) > 0));
  });

  it('fails cleanly when the registry is not allowed', async () => {
    const { r, records, ms } = await npmInstall([], 'npm-deny', false);
    assert.notEqual(r.result.exitCode, 0, r.stdout);
    assert.ok(!existsSync(join(c.ws, 'node_modules', 'is-number')));
    assert.ok(ms < 60_000, `${ms} ms`);
    assert.ok(records.some((x) => x.type === 'egress' && x.host === registry.hostname && x.decision === 'deny'), JSON.stringify(records.slice(0, 3)));
    assert.match(r.stdout, /403|E403|Forbidden|denied/i);
  });
});
