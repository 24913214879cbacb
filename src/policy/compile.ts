import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { compileGlob, GlobError, type Glob } from './glob.js';
import { canonicalIp, HostPatternError, parseHostPattern } from './net.js';
import { expandPathPattern, literalDirPrefix, PathExpandError, resolvedForm, type PathContext } from './paths.js';
import type { ExecRule, FileRule, FileZone, McpRule, NetRule, Rule } from './rules.js';
import type { Diagnostic } from './diagnostics.js';
import type { Locator } from './source.js';
import type { Decision, McpArgCondition, PolicyDocument } from './schema.js';

/**
 * Pure compilation of validated policy documents into indexed rules. A policy is a stack of
 * layers (a built-in profile it `extends`, then the file itself); rule lists concatenate in layer
 * order and scalar settings are taken from the last layer that sets them.
 *
 * Symlinks: the compiler is handed a `realpath` (I/O lives in the caller) and resolves the literal
 * directory prefix of every path pattern (one that does not exist yet by its deepest existing
 * ancestor), so a rule written against `/var/run/x` also matches the resolved `/run/x` that the
 * kernel and the mediator see.
 */

export interface PolicyLayer {
  doc: PolicyDocument;
  file: string;
  /** Prefix for rule ids from this layer (e.g. `coding-agent:`); empty for the user's file. */
  idPrefix: string;
  locate: Locator;
  policyDir: string;
}

export interface CompileContext {
  home: string;
  workspace: string;
  /** Resolves symlinks of an existing path; returns undefined when it does not exist. */
  realpath?: (p: string) => string | undefined;
}

export interface FsZones {
  read: string[];
  write: string[];
  deny: string[];
  ask: string[];
  /** Literal paths only (mount points): a glob is an error. */
  private: string[];
}

/**
 * The MCP gateway's keys of the `mcp` section (labels, inspect, pinning, …), from the last layer
 * (built-in profiles set none), and every tool rule's argument conditions keyed by rule id, with
 * `under` paths expanded like every other policy path. Carried here so the gateway never parses
 * the policy file a second time.
 */
export interface McpSectionExt extends Omit<PolicyDocument['mcp'], 'tools' | 'lockfile' | 'default'> {
  readonly conditions: ReadonlyMap<string, readonly McpArgCondition[]>;
}

export interface CompiledPolicy {
  readonly hash: string;
  readonly workspace: string;
  readonly home: string;
  readonly fs: FsZones;
  readonly fileLiteral: ReadonlyMap<string, FileRule[]>;
  readonly fileGlob: readonly FileRule[];
  readonly execByName: ReadonlyMap<string, ExecRule[]>;
  readonly execOther: readonly ExecRule[];
  readonly netExact: ReadonlyMap<string, NetRule[]>;
  readonly netWildcard: ReadonlyMap<string, NetRule[]>;
  readonly mcpRules: readonly McpRule[];
  readonly mcpDefault: 'allow' | 'deny' | 'approve';
  readonly mcpLockfile: string | undefined;
  readonly mcpExt: McpSectionExt;
  readonly hosts: ReadonlyMap<string, string>;
  readonly envPass: readonly Glob[];
  readonly envSet: Readonly<Record<string, string>>;
  readonly classify: PolicyDocument['classify'];
  readonly limits: PolicyDocument['limits'];
  readonly approvalTimeoutSec: number;
  /** All rules in effective order, for lint and explain. */
  readonly rules: readonly Rule[];
}

export type CompileResult = { ok: true; policy: CompiledPolicy; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[] };

const ZONES: FileZone[] = ['deny', 'ask', 'write', 'private', 'read'];
// A private path is writable (inside the sandbox's own copy), so to a decision it is a write zone.
const ZONE_DECISION: Record<FileZone, Decision> = { deny: 'deny', ask: 'approve', write: 'allow', private: 'allow', read: 'allow' };

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

export function compilePolicy(layers: PolicyLayer[], ctx: CompileContext): CompileResult {
  const errors: Diagnostic[] = [];
  const err = (layer: PolicyLayer, path: PropertyKey[], message: string, hint?: string): void => {
    const { line, col } = layer.locate(path);
    errors.push({ severity: 'error', file: layer.file, line, col, message: `${path.join('.')}: ${message}`, ...(hint ? { hint } : {}) });
  };
  const rules: Rule[] = [];
  const fs: FsZones = { read: [], write: [], deny: [], ask: [], private: [] };
  const fileLiteral = new Map<string, FileRule[]>();
  const fileGlob: FileRule[] = [];
  const execByName = new Map<string, ExecRule[]>();
  const execOther: ExecRule[] = [];
  const netExact = new Map<string, NetRule[]>();
  const netWildcard = new Map<string, NetRule[]>();
  const mcpRules: McpRule[] = [];
  const hosts = new Map<string, string>();
  const envPass: Glob[] = [];
  const envSet: Record<string, string> = {};
  const seenIds = new Set<string>();
  let order = 0;
  let mcpDefault: 'allow' | 'deny' | 'approve' = 'deny';
  let mcpLockfile: string | undefined;
  let mcpSection: Omit<PolicyDocument['mcp'], 'tools' | 'lockfile' | 'default'> | undefined;
  const mcpConditions = new Map<string, McpArgCondition[]>();
  let classify: PolicyDocument['classify'];
  let limits: PolicyDocument['limits'];
  let approvalTimeoutSec = 120;

  const claimId = (layer: PolicyLayer, path: PropertyKey[], explicit: string | undefined, fallback: string): string => {
    const id = layer.idPrefix + (explicit ?? fallback);
    if (seenIds.has(id)) err(layer, path, `duplicate rule id "${id}"`, 'give every rule a unique id');
    seenIds.add(id);
    return id;
  };

  layers.forEach((layer, layerIndex) => {
    const { doc } = layer;
    const where = (path: PropertyKey[]): { src: { layer: number; path: PropertyKey[] }; builtin: boolean } => ({
      src: { layer: layerIndex, path },
      builtin: layer.idPrefix !== '',
    });
    const pctx: PathContext = { home: ctx.home, workspace: ctx.workspace, policyDir: layer.policyDir };

    for (const zone of ZONES) {
      doc.filesystem[zone].forEach((raw, i) => {
        const path = ['filesystem', zone, i];
        let expanded: string;
        try {
          expanded = expandPathPattern(raw, pctx);
        } catch (e) {
          if (e instanceof PathExpandError) return err(layer, path, e.message);
          throw e;
        }
        const patterns = [expanded];
        const prefix = literalDirPrefix(expanded);
        // A prefix that does not exist yet (a deny or ask path for a file to come) by where it
        // would be: a rule through a symlinked directory must match what the kernel and the
        // mediator see also for a file created during the session.
        const real = resolvedForm(prefix, ctx.realpath);
        if (real && real !== prefix) patterns.push(real + expanded.slice(prefix.length));
        let globs: Glob[];
        try {
          globs = patterns.map((p) => compileGlob(p, '/'));
        } catch (e) {
          if (e instanceof GlobError) return err(layer, path, `bad glob "${raw}": ${e.message} (column ${e.column})`, 'escape literal metacharacters with a backslash');
          throw e;
        }
        const literal = globs.every((g) => g.literal);
        if (zone === 'private' && !literal) return err(layer, path, `"${raw}" is a glob; a private directory is a mount point and must be named literally`, 'list each directory');
        const rule: FileRule = {
          kind: 'file',
          id: claimId(layer, path, undefined, `filesystem.${zone}[${i}]`),
          zone,
          decision: ZONE_DECISION[zone],
          specificity: globs[0]!.literalChars,
          order: order++,
          ...where(path),
          text: `${zone} ${raw}`,
          patterns,
          globs,
          literal,
        };
        rules.push(rule);
        fs[zone].push(...patterns);
        if (literal) for (const p of patterns) push(fileLiteral, p, rule);
        else fileGlob.push(rule);
      });
    }

    doc.commands.forEach((c, i) => {
      const path = ['commands', i];
      const [prog, ...rest] = c.match as [string, ...string[]];
      if (prog === '' || prog === '**') return err(layer, [...path, 'match', 0], 'the program name must not be empty or "**"', 'name the program, e.g. ["git", "push"]');
      let program: Glob;
      const args: Array<Glob | null> = [];
      try {
        program = compileGlob(prog, prog.includes('/') ? '/' : null);
        for (const a of rest) args.push(a === '**' ? null : compileGlob(a, null));
      } catch (e) {
        if (e instanceof GlobError) return err(layer, [...path, 'match'], `bad glob: ${e.message} (column ${e.column})`, 'escape literal metacharacters with a backslash');
        throw e;
      }
      const fixedArgs = args.filter((a): a is Glob => a !== null);
      const rule: ExecRule = {
        kind: 'exec',
        id: claimId(layer, path, c.id, `commands[${i}]`),
        decision: c.decision,
        specificity: (1 + fixedArgs.length) * 1000 + program.literalChars + fixedArgs.reduce((n, g) => n + g.literalChars, 0),
        order: order++,
          ...where(path),
        text: `${c.decision} ${JSON.stringify(c.match)}`,
        program,
        programIsPath: prog.includes('/'),
        args,
        ...(c.message !== undefined ? { message: c.message } : {}),
        ...(c.steer !== undefined ? { steer: c.steer } : {}),
      };
      rules.push(rule);
      if (program.literal && !rule.programIsPath) push(execByName, program.prefix, rule);
      else execOther.push(rule);
    });

    for (const list of ['deny', 'approve', 'allow'] as const) {
      doc.network[list].forEach((raw, i) => {
        const path = ['network', list, i];
        let pattern;
        try {
          pattern = parseHostPattern(raw);
        } catch (e) {
          if (e instanceof HostPatternError) return err(layer, path, e.message, 'write "example.com", "*.example.com" or "host:port"');
          throw e;
        }
        const labels = pattern.ip ? 8 : pattern.host.split('.').length;
        const rule: NetRule = {
          kind: 'net',
          id: claimId(layer, path, undefined, `network.${list}[${i}]`),
          decision: list,
          specificity: (pattern.wildcard ? 0 : 1000) + labels * 10 + (pattern.port !== undefined ? 5 : 0),
          order: order++,
          ...where(path),
          text: `${list} ${raw}`,
          pattern,
        };
        rules.push(rule);
        push(pattern.wildcard ? netWildcard : netExact, pattern.host, rule);
      });
    }
    for (const [name, ip] of Object.entries(doc.network.hosts)) {
      const canon = canonicalIp(ip);
      if (!canon) err(layer, ['network', 'hosts', name], `"${ip}" is not an IP address`, 'map each name to an IPv4 or IPv6 literal');
      else hosts.set(name.toLowerCase().replace(/\.$/, ''), canon);
    }

    doc.mcp.tools.forEach((t, i) => {
      const path = ['mcp', 'tools', i];
      let tool: Glob;
      let server: Glob | undefined;
      try {
        tool = compileGlob(t.tool, null);
        server = t.server !== undefined ? compileGlob(t.server, null) : undefined;
      } catch (e) {
        if (e instanceof GlobError) return err(layer, path, `bad glob: ${e.message} (column ${e.column})`);
        throw e;
      }
      const id = claimId(layer, path, t.id, `mcp.tools[${i}]`);
      if (t.conditions?.length) {
        const conds = t.conditions.map((c, j) => {
          if (!c.under) return c;
          const under = c.under.map((u, k) => {
            try {
              return expandPathPattern(u, pctx);
            } catch (e) {
              if (e instanceof PathExpandError) err(layer, [...path, 'conditions', j, 'under', k], e.message);
              else throw e;
              return u;
            }
          });
          return { ...c, under };
        });
        mcpConditions.set(id, conds);
      }
      const rule: McpRule = {
        kind: 'mcp',
        id,
        decision: t.decision,
        specificity: tool.literalChars + (server ? 1000 + server.literalChars : 0),
        order: order++,
          ...where(path),
        text: `${t.decision} tool ${t.tool}${t.server ? ` on ${t.server}` : ''}`,
        tool,
        server,
        ...(t.message !== undefined ? { message: t.message } : {}),
      };
      rules.push(rule);
      mcpRules.push(rule);
    });
    mcpDefault = doc.mcp.default;
    const { tools: _tools, lockfile: _lockfile, default: _default, ...section } = doc.mcp;
    mcpSection = section;
    if (doc.mcp.lockfile !== undefined) {
      try {
        mcpLockfile = expandPathPattern(doc.mcp.lockfile, pctx);
      } catch (e) {
        if (e instanceof PathExpandError) err(layer, ['mcp', 'lockfile'], e.message);
        else throw e;
      }
    }

    doc.env.pass.forEach((name, i) => {
      try {
        envPass.push(compileGlob(name, null));
      } catch (e) {
        if (e instanceof GlobError) err(layer, ['env', 'pass', i], `bad glob: ${e.message}`);
        else throw e;
      }
    });
    for (const [k, v] of Object.entries(doc.env.set)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) err(layer, ['env', 'set', k], `"${k}" is not a valid variable name`);
      else if (v.includes('\0')) err(layer, ['env', 'set', k], 'NUL byte in value');
      else envSet[k] = v;
    }
    if (doc.classify) classify = doc.classify;
    if (doc.limits) limits = doc.limits;
    if (doc.approvals) approvalTimeoutSec = doc.approvals.timeout;
  });

  if (errors.length) return { ok: false, errors };

  const effective = {
    workspace: ctx.workspace,
    home: ctx.home,
    rules: rules.map((r) => ({ id: r.id, kind: r.kind, decision: r.decision, text: r.text, message: r.message ?? null, steer: r.steer ?? null, ...(r.kind === 'file' ? { patterns: r.patterns } : {}) })),
    hosts: Object.fromEntries([...hosts].sort()),
    env: { pass: envPass.map((g) => g.source), set: envSet },
    mcp: { default: mcpDefault, lockfile: mcpLockfile ?? null, ...mcpSection, conditions: Object.fromEntries(mcpConditions) },
    classify: classify ?? null,
    limits: limits ?? null,
    approvalTimeoutSec,
  };
  const hash = `sha256:${createHash('sha256').update(canonicalize(effective) ?? '').digest('hex')}`;

  const policy: CompiledPolicy = {
    hash,
    workspace: ctx.workspace,
    home: ctx.home,
    fs,
    fileLiteral,
    fileGlob,
    execByName,
    execOther,
    netExact,
    netWildcard,
    mcpRules,
    mcpDefault,
    mcpLockfile,
    mcpExt: { ...mcpSection!, conditions: mcpConditions },
    hosts,
    envPass,
    envSet,
    classify,
    limits,
    approvalTimeoutSec,
    rules,
  };
  return { ok: true, policy, warnings: [] };
}
