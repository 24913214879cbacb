import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { hookCommand } from '../../src/cli/hook.js';
import type { CliIo } from '../../src/cli/io.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

export const FIXTURES = join(ROOT, 'test', 'fixtures', 'hooks');

/** The policy the fixtures are judged by: the default profile plus one rule of each kind. */
export const TEST_POLICY = `version: 1
extends: coding-agent
network:
  allow: [docs.example.com]
mcp:
  default: approve
  tools:
    - {id: gh-issues, tool: create_issue, server: github, decision: allow}
commands:
  - id: tf-apply
    match: [terraform, apply]
    decision: approve
    message: applying infrastructure changes needs a person
  - id: deploy
    match: [make, deploy]
    decision: warn
    message: deploys a preview build
`;

export interface World {
  root: string;
  home: string;
  workspace: string;
  policy: string;
  env: NodeJS.ProcessEnv;
}

/** A home directory with a project in it, Warden's state in its own directory, the test policy. */
export function world(): World {
  const root = realpathSync(tempDir('warden-hooks-'));
  const home = join(root, 'home');
  const workspace = join(home, 'project');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(workspace, 'src', 'index.ts'), "console.log('hi');\n");
  const policy = join(root, 'policy.yaml');
  writeFileSync(policy, TEST_POLICY);
  return { root, home, workspace, policy, env: { HOME: home, WARDEN_HOME: join(root, 'warden'), PATH: process.env['PATH'] ?? '/usr/bin:/bin' } };
}

export function fixture(w: World, agent: 'claude-code' | 'codex', name: string): string {
  return readFileSync(join(FIXTURES, agent, `${name}.json`), 'utf8').replaceAll('__WORKSPACE__', w.workspace).replaceAll('__HOME__', w.home);
}

export interface HookRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or null when it is empty. */
  json: Record<string, unknown> | null;
}

/** Runs `warden hook AGENT ARGS` as the CLI would, with a fake CliIo whose stdin is a Readable. */
export async function runHookCli(w: World, agent: string, input: string | Buffer | Readable, args: string[] = ['--policy', 'policy.yaml'], env: NodeJS.ProcessEnv = {}): Promise<HookRun> {
  let stdout = '';
  let stderr = '';
  const stdin = input instanceof Readable ? input : Readable.from([typeof input === 'string' ? Buffer.from(input, 'utf8') : input]);
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { ...w.env, ...env }, cwd: w.root, stdin };
  const code = await hookCommand([agent, ...args], io);
  const trimmed = stdout.trim();
  return { code, stdout, stderr, json: trimmed === '' ? null : (JSON.parse(trimmed) as Record<string, unknown>) };
}

/** The Claude Code / Codex hookSpecificOutput of a run. */
export function specific(r: HookRun): Record<string, unknown> {
  const s = r.json?.['hookSpecificOutput'];
  if (s === null || typeof s !== 'object') throw new Error(`no hookSpecificOutput in ${r.stdout}`);
  return s as Record<string, unknown>;
}
