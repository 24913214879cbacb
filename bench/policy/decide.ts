/**
 * Policy decision latency, in process, for a realistic 200-rule policy (budget: p99 <= 20 µs).
 * Run: npm run build && node dist/bench/policy/decide.js
 */
import { compilePolicy } from '../../src/policy/compile.js';
import { evaluate } from '../../src/policy/evaluate.js';
import type { PolicyEvent } from '../../src/policy/event.js';
import { policySchema } from '../../src/policy/schema.js';
import { percentiles } from '../stats.js';

function realisticPolicy(): unknown {
  const tools = ['git', 'npm', 'node', 'python3', 'make', 'cargo', 'go', 'docker', 'kubectl', 'terraform', 'aws', 'gcloud', 'curl', 'wget', 'ssh', 'scp', 'rsync', 'tar', 'rm', 'chmod'];
  const commands: unknown[] = [];
  for (const t of tools) {
    commands.push({ match: [t], decision: 'allow' });
    commands.push({ match: [t, 'delete', '**'], decision: 'approve' });
    commands.push({ match: [t, '**', '--force'], decision: 'steer', steer: `${t} (without --force)` });
  }
  commands.push({ match: ['rm', '-rf', '/'], decision: 'deny' }, { match: ['sudo'], decision: 'deny' });
  const read = ['/usr', '/bin', '/lib', '/lib64', '/etc', '/opt', '~/.gitconfig', '~/.nvm', '~/.pyenv', '~/.rustup'];
  const write = ['${workspace}', '~/.npm', '~/.cache', '/var/tmp/build'];
  const deny = ['~/.ssh', '~/.gnupg', '~/.aws', '~/.kube', '~/.docker/config.json', '/**/.env', '/**/.env.local', '/**/*.pem', '~/.netrc', '~/.npmrc'];
  for (let i = 0; i < 40; i++) read.push(`/srv/data/set${i}`);
  for (let i = 0; i < 30; i++) deny.push(`~/.config/app${i}/credentials`);
  const allow: string[] = [];
  for (let i = 0; i < 30; i++) allow.push(`api${i}.example.com`);
  allow.push('*.githubusercontent.com', '*.npmjs.org', 'registry.yarnpkg.com:443');
  const ndeny = ['*.evil.test', 'metadata.google.internal', '169.254.169.254'];
  const tools2 = Array.from({ length: 10 }, (_, i) => ({ tool: `tool_${i}_*`, decision: i % 3 === 0 ? 'deny' : 'allow' }));
  return { version: 1, filesystem: { read, write, deny }, network: { allow, deny: ndeny }, commands, mcp: { default: 'deny', tools: tools2 } };
}

const doc = policySchema.parse(realisticPolicy());
const compiled = compilePolicy([{ doc, file: 'bench', idPrefix: '', locate: () => ({ line: 1, col: 1 }), policyDir: '/' }], { home: '/home/dev', workspace: '/home/dev/project' });
if (!compiled.ok) throw new Error(compiled.errors[0]!.message);
const p = compiled.policy;
const ruleCount = p.rules.length;

const events: PolicyEvent[] = [
  { kind: 'file', path: '/home/dev/project/src/components/app/index.tsx', access: 'write' },
  { kind: 'file', path: '/home/dev/.ssh/id_ed25519', access: 'read' },
  { kind: 'file', path: '/usr/lib/x86_64-linux-gnu/libc.so.6', access: 'exec' },
  { kind: 'file', path: '/home/dev/project/node_modules/.pnpm/a@1/node_modules/a/.env', access: 'read' },
  { kind: 'exec', argv: ['git', 'push', 'origin', 'main', '--force'] },
  { kind: 'exec', argv: ['npm', 'install', '--save-dev', 'typescript'] },
  { kind: 'exec', argv: ['ls', '-la'], path: '/usr/bin/ls' },
  { kind: 'net', host: 'api17.example.com', port: 443 },
  { kind: 'net', host: 'raw.githubusercontent.com', port: 443 },
  { kind: 'net', host: 'x.evil.test', port: 80 },
  { kind: 'mcp', tool: 'tool_3_write', server: 's' },
];

const N = 200_000;
for (let i = 0; i < 20_000; i++) evaluate(p, events[i % events.length]!);
const samples = new Float64Array(N);
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  const s = process.hrtime.bigint();
  evaluate(p, events[i % events.length]!);
  samples[i] = Number(process.hrtime.bigint() - s) / 1000;
}
const total = Number(process.hrtime.bigint() - t0) / 1e9;
// Throughput without per-call timers.
const t1 = process.hrtime.bigint();
for (let i = 0; i < N; i++) evaluate(p, events[i % events.length]!);
const perSec = N / (Number(process.hrtime.bigint() - t1) / 1e9);
const pc = percentiles(samples, [50, 99, 99.9]);
const result = { bench: 'policy.decide', rules: ruleCount, events: N, p50_us: pc[50], p99_us: pc[99], p999_us: pc[99.9], decisions_per_s: Math.round(perSec), budget_p99_us: 20, within_budget: (pc[99] ?? Infinity) <= 20, timed_s: total };
console.log(JSON.stringify(result));
