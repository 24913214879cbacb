import { z } from 'zod';

/**
 * The policy file, version 1. This zod schema is the single source of truth: the loader validates
 * against it, `schema/policy.schema.json` is generated from it, and the README's reference is
 * checked against it. Every object is strict: an unknown key is an error, never silently ignored,
 * because a misspelt `dney:` that is dropped would be a silent fail-open.
 */

export const DECISIONS = ['allow', 'deny', 'approve', 'warn', 'steer'] as const;
export type Decision = (typeof DECISIONS)[number];

const decision = z.enum(DECISIONS).describe('allow | deny | approve (ask a human) | warn (allow, flag) | steer (deny with a safer alternative)');

const pathList = z
  .array(z.string().min(1, 'empty path').describe('absolute, ~/…, ${workspace}/… or relative to the policy file; globs * ** ? [..] {a,b}'))
  .default([]);

const hostPattern = z
  .string()
  .min(1, 'empty host')
  .describe('"example.com", "*.example.com" (subdomains only), an IP literal, optionally with ":port"');

const commandRule = z
  .strictObject({
    id: z.string().min(1).max(128).optional().describe('stable rule id shown in decisions and audit (default: commands[N])'),
    match: z
      .array(z.string())
      .min(1, 'match needs at least the program name')
      .describe('argv prefix; element 0 is the program name (matched by basename however invoked); later elements are globs on arguments'),
    decision,
    message: z.string().max(4096).optional().describe('shown to the agent on deny/steer/approve'),
    steer: z.string().max(4096).optional().describe('the safer alternative offered when decision is steer'),
  })
  .superRefine((r, ctx) => {
    if (r.decision === 'steer' && !r.steer) {
      ctx.addIssue({ code: 'custom', path: ['steer'], message: 'decision "steer" needs a "steer" alternative' });
    }
  });

/** An argument condition on an MCP tool rule (all of a rule's conditions must hold, else deny). */
export const mcpArgConditionSchema = z
  .strictObject({
    arg: z
      .string()
      .min(1)
      .max(256)
      .describe('argument name; dots descend into objects (a.b); arrays at any step are checked element by element'),
    under: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('the value is a path that, after ~ expansion, .. normalisation and symlink resolution, lies under one of these'),
    hostAllowedBy: z.literal('network').optional().describe('the value is a URL whose host:port the network section allows'),
    schemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/)).optional().describe('URL schemes accepted with hostAllowedBy (default http, https)'),
    matches: z.string().min(1).optional().describe('glob the (string) value must match'),
    optional: z.boolean().default(false).describe('an absent argument satisfies the condition (default: absent = denied)'),
  })
  .superRefine((c, ctx) => {
    const n = [c.under, c.hostAllowedBy, c.matches].filter((x) => x !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'a condition needs exactly one of under, hostAllowedBy, matches' });
  });

const mcpToolRule = z.strictObject({
  id: z.string().min(1).max(128).optional(),
  tool: z.string().min(1).describe('glob on the tool name'),
  server: z.string().min(1).optional().describe('glob on the server name (default: any server)'),
  decision: z.enum(['allow', 'deny', 'approve']),
  message: z.string().max(4096).optional(),
  conditions: z.array(mcpArgConditionSchema).max(64).optional().describe('argument conditions; a call the rule decides is denied unless all hold'),
});

const mcpGlob = z.string().min(1).max(512);
const mcpSeverity = z.enum(['low', 'medium', 'high']);
const MCP_LIMITS = { maxMessageBytes: 16 * 1024 * 1024, maxPending: 4096, notificationsPerSecond: 1000 };

/** The gateway's keys of the `mcp` section beyond lockfile, default and tools. */
export const mcpSectionExtShape = {
  labels: z
    .strictObject({
      sensitive: z.array(mcpGlob).default([]).describe('tools (glob on name or server/name) whose results taint the session'),
      sink: z.array(mcpGlob).default([]).describe('tools that need approval once the session is tainted'),
      exempt: z.array(mcpGlob).default([]).describe('never labelled by the heuristics'),
      heuristics: z.boolean().default(true).describe('label tools by name and description (secrets, private data, messaging)'),
    })
    .default({ sensitive: [], sink: [], exempt: [], heuristics: true })
    .describe('session-taint labels'),
  inspect: z
    .strictObject({
      onFinding: z.enum(['withhold', 'approve', 'allow']).default('withhold').describe('what a flagged tool definition gets'),
      minSeverity: mcpSeverity.default('medium').describe('findings below this are audited only'),
      redactResults: z.boolean().default(false).describe('redact injection markers and exfiltration URLs in tool results'),
      ignore: z
        .array(z.strictObject({ rule: z.string().min(1), tool: mcpGlob.default('*'), server: mcpGlob.optional() }))
        .default([])
        .describe('findings to ignore, by inspection rule and tool'),
    })
    .default({ onFinding: 'withhold', minSeverity: 'medium', redactResults: false, ignore: [] })
    .describe('local inspection of tool definitions and results'),
  pinning: z
    .strictObject({
      newTools: z.enum(['pin', 'block']).default('pin').describe('pin (trust on first use) or block until `warden mcp pin --accept`'),
      newServers: z.enum(['pin', 'block']).default('pin'),
    })
    .default({ newTools: 'pin', newServers: 'pin' }),
  unknownMethods: z.enum(['deny', 'allow']).default('deny').describe('JSON-RPC methods MCP does not define'),
  hideDenied: z.boolean().default(true).describe('omit tools the policy always denies from tools/list'),
  limits: z
    .strictObject({
      maxMessageBytes: z.number().int().min(1024).max(1 << 30).default(MCP_LIMITS.maxMessageBytes),
      maxPending: z.number().int().min(1).max(1 << 20).default(MCP_LIMITS.maxPending),
      notificationsPerSecond: z.number().int().min(1).max(1_000_000).default(MCP_LIMITS.notificationsPerSecond),
    })
    .default(MCP_LIMITS),
};

const verdictDecision = z.enum(['allow', 'warn', 'approve', 'deny']);

export const policySchema = z
  .strictObject({
    version: z.literal(1).describe('policy format version; must be 1'),
    extends: z.string().min(1).optional().describe('name of a built-in profile whose rules this policy adds to'),
    filesystem: z
      .strictObject({
        read: pathList.describe('readable and executable (with everything below)'),
        write: pathList.describe('readable, writable and executable (with everything below)'),
        deny: pathList.describe('never accessible; overrides read and write'),
        ask: pathList.describe('each open asks a human (live mediation)'),
        private: pathList.describe(
          "writable inside, but the sandbox's own: copy-on-write over the host's directory (its files readable, every change kept in the sandbox and discarded at the end; empty where the host has none); the host's directory is never changed (for caches a host tool would later trust)",
        ),
      })
      .default({ read: [], write: [], deny: [], ask: [], private: [] }),
    network: z
      .strictObject({
        allow: z.array(hostPattern).default([]),
        deny: z.array(hostPattern).default([]),
        approve: z.array(hostPattern).default([]).describe('held until a human decides'),
        hosts: z
          .record(z.string().min(1), z.string().min(1).describe('IPv4 or IPv6 address'))
          .default({})
          .describe('static resolution used by the proxy and DNS stub'),
      })
      .default({ allow: [], deny: [], approve: [], hosts: {} }),
    commands: z.array(commandRule).default([]),
    env: z
      .strictObject({
        pass: z.array(z.string().min(1)).default([]).describe('variable names (globs allowed, e.g. LC_*) passed into the sandbox; all others are removed'),
        set: z.record(z.string().min(1), z.string()).default({}).describe('variables set inside the sandbox'),
      })
      .default({ pass: [], set: {} }),
    mcp: z
      .strictObject({
        lockfile: z.string().min(1).optional().describe('where tool definitions are pinned'),
        default: z.enum(['allow', 'deny', 'approve']).default('deny'),
        tools: z.array(mcpToolRule).default([]),
        ...mcpSectionExtShape,
      })
      .default({
        default: 'deny',
        tools: [],
        labels: { sensitive: [], sink: [], exempt: [], heuristics: true },
        inspect: { onFinding: 'withhold', minSeverity: 'medium', redactResults: false, ignore: [] },
        pinning: { newTools: 'pin', newServers: 'pin' },
        unknownMethods: 'deny',
        hideDenied: true,
        limits: MCP_LIMITS,
      }),
    classify: z
      .strictObject({
        allow: verdictDecision.default('allow'),
        warn: verdictDecision.default('warn'),
        review: verdictDecision.default('approve'),
        block: verdictDecision.default('deny'),
      })
      .optional()
      .describe('maps classifier verdicts to decisions for execs no command rule decided'),
    limits: z
      .strictObject({
        memory: z.string().regex(/^[0-9]+[KMGT]?$/, 'size like 512M or 4G').optional(),
        pids: z.number().int().min(16).max(1 << 22).optional(),
        cpu: z.number().min(0.01).max(1024).optional().describe('CPU cores'),
        nofile: z.number().int().min(16).max(1 << 20).optional(),
      })
      .optional(),
    approvals: z
      .strictObject({
        timeout: z.number().int().min(1).max(86_400).default(120).describe('seconds before an unanswered request is denied'),
      })
      .optional(),
  })
  .describe('Warden policy, version 1');

/** The policy as written, after defaults: what the compiler consumes. */
export type PolicyDocument = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type CommandRule = PolicyDocument['commands'][number];
export type McpToolRule = PolicyDocument['mcp']['tools'][number];
export type McpArgCondition = z.infer<typeof mcpArgConditionSchema>;
