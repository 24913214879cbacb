import { z } from 'zod';

/**
 * Events the decision engine judges. The mediator, the proxy and the MCP gateway build these from
 * what the kernel or the wire says; `warden policy explain --event JSON` parses them with this schema.
 * File paths must be absolute and already symlink-resolved by the caller (the evaluator is pure).
 */

const str = z.string().max(1 << 20);

export const fileEventSchema = z.strictObject({
  kind: z.literal('file'),
  path: str.startsWith('/', 'path must be absolute'),
  access: z.enum(['read', 'write', 'exec']),
});

export const execEventSchema = z.strictObject({
  kind: z.literal('exec'),
  argv: z.array(str).max(1 << 17),
  /** The executable actually run (resolved), when known; preferred over argv[0] for the name. */
  path: str.optional(),
  cwd: str.optional(),
});

export const netEventSchema = z.strictObject({
  kind: z.literal('net'),
  host: str.min(1),
  port: z.number().int().min(0).max(65535),
});

export const mcpEventSchema = z.strictObject({
  kind: z.literal('mcp'),
  tool: str.min(1),
  server: str.optional(),
});

export const eventSchema = z.discriminatedUnion('kind', [fileEventSchema, execEventSchema, netEventSchema, mcpEventSchema]);

export type PolicyEvent = z.infer<typeof eventSchema>;
export type FileEvent = z.infer<typeof fileEventSchema>;
export type ExecEvent = z.infer<typeof execEventSchema>;
export type NetEvent = z.infer<typeof netEventSchema>;
export type McpEvent = z.infer<typeof mcpEventSchema>;
