/**
 * Build step: writes schema/policy.schema.json from the zod schema, so editors can complete and
 * validate policies. The zod schema stays the single source of truth.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { policyJsonSchema } from './json-schema.js';

const out = new URL('../../../schema/policy.schema.json', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, JSON.stringify(policyJsonSchema(), null, 2) + '\n');
