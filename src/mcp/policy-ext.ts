import { z } from 'zod';

/**
 * Proposed additions to the policy's `mcp` section (to be merged into src/policy/schema.ts by the
 * lead). Until then the gateway takes the compiled form (`McpExt`) as an explicit option, and the
 * CLI reads it from `--mcp-ext FILE` (the same YAML keys, `conditions` keyed by rule id).
 *
 * Proposed YAML:
 *
 *   mcp:
 *     lockfile: ~/.config/warden/mcp.lock.json
 *     default: deny
 *     tools:
 *       - id: fs-write
 *         tool: write_file
 *         decision: allow
 *         conditions:                       # NEW: all must hold, else the call is denied
 *           - { arg: path, under: ["${workspace}"] }
 *       - tool: fetch
 *         decision: allow
 *         conditions:
 *           - { arg: url, hostAllowedBy: network }
 *     labels:                               # NEW: session-taint labels (globs on tool or server/tool)
 *       sensitive: ["read_*", "github/get_private_*"]
 *       sink: ["slack/*", "send_*"]
 *       exempt: ["memory/*"]                # never labelled by heuristics
 *       heuristics: true
 *     inspect:                              # NEW
 *       onFinding: withhold                 # withhold | approve | allow
 *       minSeverity: medium                 # low | medium | high
 *       redactResults: false
 *       ignore: [{ rule: secret-path, tool: ssh_exec }]
 *     pinning:                              # NEW
 *       newTools: pin                       # pin (trust on first use) | block (until `warden mcp pin --accept`)
 *       newServers: pin
 *     unknownMethods: deny                  # NEW: JSON-RPC methods MCP does not define
 *     hideDenied: true                      # NEW: omit tools the policy always denies from tools/list
 *     limits: { maxMessageBytes: 16777216, maxPending: 4096, notificationsPerSecond: 1000 }
 */

const pathList = z.array(z.string().min(1)).min(1);

export const mcpArgConditionSchema = z
  .strictObject({
    arg: z
      .string()
      .min(1)
      .max(256)
      .describe('argument name; dots descend into objects (a.b); arrays at any step are checked element by element'),
    under: pathList.optional().describe('the value is a path that, after ~ expansion, .. normalisation and symlink resolution, lies under one of these'),
    hostAllowedBy: z.literal('network').optional().describe('the value is a URL whose host:port the network section allows'),
    schemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/)).optional().describe('URL schemes accepted with hostAllowedBy (default http, https)'),
    matches: z.string().min(1).optional().describe('glob the (string) value must match'),
    optional: z.boolean().default(false).describe('an absent argument satisfies the condition (default: absent = denied)'),
  })
  .superRefine((c, ctx) => {
    const n = [c.under, c.hostAllowedBy, c.matches].filter((x) => x !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'a condition needs exactly one of under, hostAllowedBy, matches' });
  });

/** Fields to add to each `mcp.tools[]` rule. */
export const mcpToolRuleExtShape = {
  conditions: z.array(mcpArgConditionSchema).max(64).optional().describe('argument conditions; a call the rule decides is denied unless all hold'),
};

const glob = z.string().min(1).max(512);
const severity = z.enum(['low', 'medium', 'high']);

/** Fields to add to the `mcp` section. */
export const mcpSectionExtShape = {
  labels: z
    .strictObject({
      sensitive: z.array(glob).default([]),
      sink: z.array(glob).default([]),
      exempt: z.array(glob).default([]),
      heuristics: z.boolean().default(true),
    })
    .default({ sensitive: [], sink: [], exempt: [], heuristics: true }),
  inspect: z
    .strictObject({
      onFinding: z.enum(['withhold', 'approve', 'allow']).default('withhold'),
      minSeverity: severity.default('medium'),
      redactResults: z.boolean().default(false),
      ignore: z.array(z.strictObject({ rule: z.string().min(1), tool: glob.default('*'), server: glob.optional() })).default([]),
    })
    .default({ onFinding: 'withhold', minSeverity: 'medium', redactResults: false, ignore: [] }),
  pinning: z
    .strictObject({
      newTools: z.enum(['pin', 'block']).default('pin'),
      newServers: z.enum(['pin', 'block']).default('pin'),
    })
    .default({ newTools: 'pin', newServers: 'pin' }),
  unknownMethods: z.enum(['deny', 'allow']).default('deny'),
  hideDenied: z.boolean().default(true),
  limits: z
    .strictObject({
      maxMessageBytes: z.number().int().min(1024).max(1 << 30).default(16 * 1024 * 1024),
      maxPending: z.number().int().min(1).max(1 << 20).default(4096),
      notificationsPerSecond: z.number().int().min(1).max(1_000_000).default(1000),
    })
    .default({ maxMessageBytes: 16 * 1024 * 1024, maxPending: 4096, notificationsPerSecond: 1000 }),
};

/** Interim `--mcp-ext FILE` format: the section fields plus conditions keyed by rule id. */
export const mcpExtFileSchema = z.strictObject({
  ...mcpSectionExtShape,
  conditions: z.record(z.string().min(1), z.array(mcpArgConditionSchema)).default({}),
});

export type McpArgCondition = z.infer<typeof mcpArgConditionSchema>;
export type McpExtFile = z.infer<typeof mcpExtFileSchema>;
export type McpExtInput = z.input<typeof mcpExtFileSchema>;

/** What the gateway consumes: the extension with condition paths already expanded. */
export interface McpExt extends Omit<McpExtFile, 'conditions'> {
  /** Rule id (as in DecisionResult.rule) → conditions, paths absolute. */
  conditions: ReadonlyMap<string, readonly McpArgCondition[]>;
}

export function defaultExt(): McpExt {
  const f = mcpExtFileSchema.parse({});
  return { ...f, conditions: new Map() };
}

/**
 * Builds the gateway's extension from parsed input. `expandPath` expands `~`, `${workspace}` and
 * relative paths (against the policy or ext file) exactly as the policy loader does.
 */
export function compileExt(input: McpExtInput, expandPath: (p: string) => string): McpExt {
  const f = mcpExtFileSchema.parse(input);
  const conditions = new Map<string, McpArgCondition[]>();
  for (const [rule, cs] of Object.entries(f.conditions)) {
    conditions.set(rule, cs.map((c) => (c.under ? { ...c, under: c.under.map(expandPath) } : c)));
  }
  return { ...f, conditions };
}
