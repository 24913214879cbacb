import { z } from 'zod';
import { policySchema } from './schema.js';

/** The policy's JSON Schema (draft 2020-12), derived from the zod schema; input shape (defaults optional). */
export function policyJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...s, title: 'Warden policy (version 1)' };
}

/** Every key path the schema defines (`commands[].match`, `network.hosts.*`), in schema order. */
export function schemaKeyPaths(schema: unknown = policyJsonSchema()): string[] {
  const out: string[] = [];
  const walk = (n: unknown, prefix: string): void => {
    if (!n || typeof n !== 'object') return;
    const node = n as { properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[] };
    for (const [k, v] of Object.entries(node.properties ?? {})) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (!out.includes(p)) out.push(p);
      walk(v, p);
    }
    if (node.items) walk(node.items, `${prefix}[]`);
    for (const a of node.anyOf ?? []) walk(a, prefix);
  };
  walk(schema, '');
  return out;
}
