import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { policyJsonSchema, schemaKeyPaths } from '../../src/policy/json-schema.js';
import { ROOT } from '../helpers/cli.js';

test('schema/policy.schema.json is the generated schema (regenerate with npm run schema)', () => {
  const onDisk = JSON.parse(readFileSync(join(ROOT, 'schema', 'policy.schema.json'), 'utf8')) as unknown;
  assert.deepEqual(onDisk, policyJsonSchema());
});

test("the README's policy reference names exactly the schema's keys", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Reference'), readme.indexOf('### Built-in profiles'));
  const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
  const keys = schemaKeyPaths();
  assert.ok(keys.length > 30);
  assert.deepEqual([...documented].sort(), [...keys].sort());
});
