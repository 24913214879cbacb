import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import { evaluate, explain } from '../../src/policy/evaluate.js';
import { eventSchema, type PolicyEvent } from '../../src/policy/event.js';
import { DECISIONS, policySchema } from '../../src/policy/schema.js';

/**
 * Properties of the decision engine over random policies and events:
 * deny always wins over allow for the same resource; explain and evaluate agree; evaluation is
 * deterministic; no schema-valid input makes the evaluator throw.
 */

const seg = fc.constantFrom('a', 'b', 'home', 'u', '.ssh', '.env', 'proj', 'x y', 'é', '..', '.');
const absPath = fc.array(seg, { minLength: 0, maxLength: 5 }).map((s) => '/' + s.join('/'));
const pathPat = fc.oneof(absPath, absPath.map((p) => p + '/*'), absPath.map((p) => '/**' + p), fc.constant('~/.ssh'), fc.constant('${workspace}'));
const word = fc.constantFrom('git', 'push', '--force', 'rm', '-rf', '/', 'npm', 'install', 'x', '*', '-*');
const host = fc.constantFrom('a.com', 'b.a.com', 'c.b.a.com', '127.0.0.1', '::1', 'example.org');
const hostPat = fc.oneof(host, host.map((h) => (h.includes(':') || /^\d/.test(h) ? h : `*.${h}`)), fc.tuple(host, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => (h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`)));
const decision = fc.constantFrom(...DECISIONS);

const policyDoc = fc.record({
  filesystem: fc.record({ read: fc.array(pathPat, { maxLength: 4 }), write: fc.array(pathPat, { maxLength: 4 }), deny: fc.array(pathPat, { maxLength: 3 }), ask: fc.array(pathPat, { maxLength: 2 }) }),
  commands: fc.array(
    fc.record({ match: fc.array(word, { minLength: 1, maxLength: 4 }).filter((m) => m[0] !== '*'), decision }).map((c) => (c.decision === 'steer' ? { ...c, steer: 'safer' } : c)),
    { maxLength: 6 },
  ),
  network: fc.record({ allow: fc.array(hostPat, { maxLength: 3 }), deny: fc.array(hostPat, { maxLength: 3 }), approve: fc.array(hostPat, { maxLength: 2 }) }),
  mcp: fc.record({ default: fc.constantFrom('allow', 'deny', 'approve'), tools: fc.array(fc.record({ tool: fc.constantFrom('*', 'read_*', 'write_file', 'x'), decision: fc.constantFrom('allow', 'deny', 'approve') }), { maxLength: 3 }) }),
});

function compile(raw: unknown): CompiledPolicy {
  const doc = policySchema.parse({ version: 1, ...(raw as object) });
  const r = compilePolicy([{ doc, file: 't', idPrefix: '', locate: () => ({ line: 1, col: 1 }), policyDir: '/p' }], { home: '/home/u', workspace: '/home/u/proj' });
  if (!r.ok) throw new Error(r.errors[0]!.message);
  return r.policy;
}

const event: fc.Arbitrary<PolicyEvent> = fc.oneof(
  fc.record({ kind: fc.constant('file' as const), path: absPath, access: fc.constantFrom('read' as const, 'write' as const, 'exec' as const) }),
  fc.record({ kind: fc.constant('exec' as const), argv: fc.array(word, { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('net' as const), host, port: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ kind: fc.constant('mcp' as const), tool: fc.constantFrom('read_file', 'write_file', 'x', 'y') }),
);

const RUNS = { numRuns: 400 };

test('property: explain and evaluate agree, and evaluation is deterministic', () => {
  fc.assert(
    fc.property(policyDoc, event, (doc, ev) => {
      const p = compile(doc);
      const a = evaluate(p, ev);
      assert.deepEqual(evaluate(compile(doc), ev), a, 'same policy, same event, same decision');
      assert.deepEqual(explain(p, ev).result, a);
    }),
    RUNS,
  );
});

test('property: a deny for the same resource always wins over any allow', () => {
  fc.assert(
    fc.property(policyDoc, event, (doc, ev) => {
      // Add a deny rule that exactly names the event's resource.
      const withDeny = structuredClone(doc) as { filesystem: { deny: string[] }; commands: unknown[]; network: { deny: string[] }; mcp: { tools: unknown[] } };
      if (ev.kind === 'file') withDeny.filesystem.deny.push(ev.path.replace(/[*?[\]{}\\]/g, '\\$&'));
      else if (ev.kind === 'exec') {
        if (ev.argv.length === 0 || ev.argv[0] === '') return;
        withDeny.commands.push({ match: ev.argv.map((a) => a.replace(/[*?[\]{}\\]/g, '\\$&')), decision: 'deny' });
      } else if (ev.kind === 'net') withDeny.network.deny.push(ev.host.includes(':') ? `[${ev.host}]` : ev.host);
      else withDeny.mcp.tools.push({ tool: ev.tool, decision: 'deny' });
      assert.equal(evaluate(compile(withDeny), ev).decision, 'deny');
    }),
    RUNS,
  );
});

test('property: no schema-valid event makes the evaluator throw', () => {
  const anyEvent = fc
    .oneof(
      fc.record({ kind: fc.constant('file'), path: fc.string().map((s) => '/' + s), access: fc.constantFrom('read', 'write', 'exec') }),
      fc.record({ kind: fc.constant('exec'), argv: fc.array(fc.string({ unit: 'binary' }), { maxLength: 8 }), path: fc.option(fc.string(), { nil: undefined }) }),
      fc.record({ kind: fc.constant('net'), host: fc.string({ minLength: 1 }), port: fc.integer({ min: 0, max: 65535 }) }),
      fc.record({ kind: fc.constant('mcp'), tool: fc.string({ minLength: 1, unit: 'binary' }), server: fc.option(fc.string(), { nil: undefined }) }),
    )
    .map((e) => JSON.parse(JSON.stringify(e)) as unknown);
  fc.assert(
    fc.property(policyDoc, anyEvent, (doc, raw) => {
      const parsed = eventSchema.safeParse(raw);
      if (!parsed.success) return;
      const r = evaluate(compile(doc), parsed.data);
      assert.ok((DECISIONS as readonly string[]).includes(r.decision));
      assert.equal(typeof r.rule, 'string');
    }),
    { numRuns: 1000 },
  );
});
