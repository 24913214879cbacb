import { z } from 'zod';
import { mcpArgConditionSchema, mcpSectionExtShape } from '../policy/schema.js';

/**
 * The gateway's keys of the policy's `mcp` section (defined in src/policy/schema.ts). The compiled
 * policy carries them (`CompiledPolicy.mcpExt`, src/policy/compile.ts); `--mcp-ext FILE` (the same
 * keys, `conditions` keyed by rule id) still replaces them, for tests and experiments.
 *
 * YAML:
 *
 *   mcp:
 *     lockfile: ~/.config/warden/mcp.lock.json
 *     default: deny
 *     tools:
 *       - id: fs-write
 *         tool: write_file
 *         decision: allow
 *         conditions:                       # all must hold, else the call is denied
 *           - { arg: path, under: ["${workspace}"] }
 *       - tool: fetch
 *         decision: allow
 *         conditions:
 *           - { arg: url, hostAllowedBy: network }
 *     labels:                               # session-taint labels (globs on tool or server/tool)
 *       sensitive: ["read_*", "github/get_private_*"]
 *       sink: ["slack/*", "send_*"]
 *       exempt: ["memory/*"]                # never labelled by heuristics
 *       heuristics: true
 *     inspect:
 *       onFinding: withhold                 # withhold | approve | allow
 *       minSeverity: medium                 # low | medium | high
 *       redactResults: false
 *       ignore: [{ rule: secret-path, tool: ssh_exec }]
 *     pinning:
 *       newTools: pin                       # pin (trust on first use) | block (until `warden mcp pin --accept`)
 *       newServers: pin
 *     unknownMethods: deny                  # JSON-RPC methods MCP does not define
 *     hideDenied: true                      # omit tools the policy always denies from tools/list
 *     limits: { maxMessageBytes: 16777216, maxPending: 4096, notificationsPerSecond: 1000 }
 */

// The schemas live in the policy schema (src/policy/schema.ts, `mcp` section); re-exported here.
export { mcpArgConditionSchema, mcpSectionExtShape };

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
