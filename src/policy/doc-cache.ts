import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyDocument } from './schema.js';

/**
 * Cache of validated policy documents, so `warden run` does not load the YAML parser and the
 * schema validator (tens of milliseconds of module loading) on every start.
 *
 * Key: sha256 over the generated JSON Schema's bytes and the policy file's bytes — any change to
 * the policy text or to the schema is a miss. The cache lives in Warden's own state directory
 * (0700, files 0600), which the sandbox can never reach, so an agent cannot plant a document
 * that was never validated. A corrupt entry is simply a miss.
 */
export interface DocCache {
  get(bytes: Uint8Array): PolicyDocument | undefined;
  put(bytes: Uint8Array, doc: PolicyDocument): void;
}

export function fileDocCache(dir: string, schemaBytes: Uint8Array): DocCache {
  const key = (bytes: Uint8Array): string => createHash('sha256').update(schemaBytes).update('\0').update(bytes).digest('hex');
  return {
    get(bytes) {
      try {
        const v = JSON.parse(readFileSync(join(dir, `${key(bytes)}.json`), 'utf8')) as { doc?: PolicyDocument };
        return v.doc && typeof v.doc === 'object' && (v.doc as { version?: unknown }).version === 1 ? v.doc : undefined;
      } catch {
        return undefined;
      }
    },
    put(bytes, doc) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const k = key(bytes);
        const tmp = join(dir, `.${k}.${process.pid}.tmp`);
        writeFileSync(tmp, JSON.stringify({ doc }), { mode: 0o600 });
        renameSync(tmp, join(dir, `${k}.json`));
      } catch {
        // A cache that cannot be written only costs time.
      }
    },
  };
}
