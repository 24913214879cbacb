import { ToolSchema } from '@modelcontextprotocol/sdk/types.js';
import { compileGlob } from '../policy/glob.js';
import { atLeast, summarize, type Finding } from './inspect/finding.js';
import { inspectTool, type DefinitionContext } from './inspect/definitions.js';
import type { CompiledLabels, Labels } from './labels.js';
import { comparePin, fingerprintTool, type PinnedTool, type PinStatus, type ToolFingerprint } from './pin.js';
import type { McpExt } from './policy-ext.js';

/**
 * What the gateway concludes about one tool definition as listed by the server: its pin status,
 * inspection findings, labels, and whether the client may see and call it. Pure.
 *
 * Withholding (the tool is removed from tools/list and every call to it is denied) happens for:
 * a definition that is not a valid MCP tool, one whose fingerprint differs from its pin (rug pull),
 * a new tool when pinning says `block`, and findings at or above `inspect.minSeverity` when
 * `inspect.onFinding` is `withhold`. The model never reads a withheld description.
 */

export interface ToolAssessment {
  name: string;
  def: Record<string, unknown>;
  fingerprint: ToolFingerprint | undefined;
  pin: PinStatus | { status: 'invalid' };
  /** Pin to record now (first sight, pinning: pin). */
  pinNow: boolean;
  findings: Finding[];
  /** Findings at or above the threshold and not ignored by policy. */
  actionable: Finding[];
  withheld: { rule: string; reason: string } | undefined;
  /** Set when inspection asks for approval of each call. */
  approval: string | undefined;
  labels: Labels;
}

export interface AssessContext {
  serverName: string;
  pinned: PinnedTool | undefined;
  /** No lockfile entry for this server yet. */
  newServer: boolean;
  definitions: DefinitionContext;
  ext: McpExt;
  labels: CompiledLabels;
  server: string;
}

function ignored(f: Finding, tool: string, server: string, ext: McpExt): boolean {
  return ext.inspect.ignore.some((i) => i.rule === f.rule && compileGlob(i.tool, null).test(tool) && (i.server === undefined || compileGlob(i.server, null).test(server)));
}

export function assessTool(def: Record<string, unknown>, ctx: AssessContext): ToolAssessment {
  const name = typeof def['name'] === 'string' ? def['name'] : '';
  const base = { name, def, findings: [] as Finding[], actionable: [] as Finding[], approval: undefined, pinNow: false };
  const noLabels: Labels = { sensitive: true, sink: true, why: ['invalid definition'] };
  const valid = ToolSchema.safeParse(def);
  if (!valid.success || !name) {
    return { ...base, fingerprint: undefined, pin: { status: 'invalid' }, labels: noLabels, withheld: { rule: 'mcp.invalid-tool', reason: `tool definition is not valid MCP (${valid.success ? 'no name' : (valid.error.issues[0]?.path.join('.') ?? '') + ': ' + valid.error.issues[0]?.message})` } };
  }
  let fingerprint: ToolFingerprint;
  try {
    fingerprint = fingerprintTool(def, ctx.serverName);
  } catch (e) {
    return { ...base, fingerprint: undefined, pin: { status: 'invalid' }, labels: noLabels, withheld: { rule: 'mcp.invalid-tool', reason: `tool definition cannot be fingerprinted (${(e as Error).message})` } };
  }
  const pin = comparePin(ctx.pinned, fingerprint);
  let findings: Finding[];
  try {
    findings = inspectTool(def, ctx.definitions);
  } catch (e) {
    findings = [{ rule: 'uninspectable', severity: 'high', title: `inspection failed (${(e as Error).message})`, where: '', excerpt: '' }];
  }
  const actionable = atLeast(findings, ctx.ext.inspect.minSeverity).filter((f) => !ignored(f, name, ctx.server, ctx.ext));
  const labels = ctx.labels.label({ name, description: typeof def['description'] === 'string' ? def['description'] : undefined, annotations: def['annotations'] as Record<string, unknown> | undefined }, ctx.server);
  let withheld: ToolAssessment['withheld'];
  let pinNow = false;
  if (pin.status === 'changed') {
    withheld = { rule: 'mcp.pin', reason: `definition changed since it was pinned (${pin.fields.join(', ')}); re-approve with "warden mcp pin --accept --tool ${name}"` };
  } else if (pin.status === 'new') {
    const mode = ctx.newServer ? ctx.ext.pinning.newServers : ctx.ext.pinning.newTools;
    if (mode === 'block') withheld = { rule: 'mcp.pin', reason: `new ${ctx.newServer ? 'server' : 'tool'}, not pinned (pinning: block); approve with "warden mcp pin --accept --tool ${name}"` };
    else pinNow = true;
  }
  let approval: string | undefined;
  if (!withheld && actionable.length > 0) {
    const why = `inspection: ${summarize(actionable)}`;
    if (ctx.ext.inspect.onFinding === 'withhold') withheld = { rule: 'mcp.inspect', reason: why };
    else if (ctx.ext.inspect.onFinding === 'approve') approval = why;
  }
  return { name, def, fingerprint, pin, pinNow, findings, actionable, withheld, approval, labels };
}
