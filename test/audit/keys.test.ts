/**
 * Key handling: private by construction, insecure keys refused, concurrent first use converges.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isWardenError } from '../../src/errors.js';
import { loadAuditKeys, loadOrCreateAuditKeys, MAC_KEY_FILE, SIGNING_KEY_FILE } from '../../src/audit/keys.js';
import { isRoot, tempHome, verifyHome, writeLog } from './helpers.js';

const keyRefused = (e: unknown): boolean => isWardenError(e) && e.code === 'AUDIT_KEY_MISSING';

describe('audit keys', () => {
  test('created on first use: directory 0700, files 0600', async () => {
    const h = await tempHome();
    try {
      await loadOrCreateAuditKeys(h.keyDir);
      assert.equal((await stat(h.keyDir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(h.keyDir, MAC_KEY_FILE))).mode & 0o777, 0o600);
      assert.equal((await stat(join(h.keyDir, SIGNING_KEY_FILE))).mode & 0o777, 0o600);
    } finally {
      await h.cleanup();
    }
  });

  test('concurrent first use converges on one key pair', async () => {
    const h = await tempHome();
    try {
      const all = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateAuditKeys(h.keyDir)));
      for (const k of all) {
        assert.deepEqual(k.macKey, all[0]!.macKey);
        assert.equal(k.publicKey.export({ format: 'pem', type: 'spki' }), all[0]!.publicKey.export({ format: 'pem', type: 'spki' }));
      }
    } finally {
      await h.cleanup();
    }
  });

  test('group/world-readable key files and key directories are refused, by the writer and by verify', async () => {
    const h = await tempHome();
    try {
      await writeLog(h, 2);
      const mac = join(h.keyDir, MAC_KEY_FILE);
      await chmod(mac, 0o640);
      await assert.rejects(loadOrCreateAuditKeys(h.keyDir), keyRefused);
      assert.equal((await verifyHome(h)).exitCode, 3);
      await chmod(mac, 0o600);
      await chmod(join(h.keyDir, SIGNING_KEY_FILE), 0o604);
      await assert.rejects(loadAuditKeys(h.keyDir), keyRefused);
      await chmod(join(h.keyDir, SIGNING_KEY_FILE), 0o600);
      await chmod(h.keyDir, 0o755);
      await assert.rejects(loadAuditKeys(h.keyDir), keyRefused);
      await chmod(h.keyDir, 0o700);
      assert.equal((await verifyHome(h)).exitCode, 0);
    } finally {
      await h.cleanup();
    }
  });

  test('symlinked and malformed key files are refused', async () => {
    const h = await tempHome();
    try {
      await loadOrCreateAuditKeys(h.keyDir);
      const mac = join(h.keyDir, MAC_KEY_FILE);
      await rename(mac, join(h.home, 'elsewhere.key'));
      await symlink(join(h.home, 'elsewhere.key'), mac);
      await assert.rejects(loadAuditKeys(h.keyDir), keyRefused);

      const h2 = await tempHome();
      try {
        await mkdir(h2.keyDir, { mode: 0o700, recursive: true });
        await writeFile(join(h2.keyDir, MAC_KEY_FILE), 'not hex\n', { mode: 0o600 });
        await assert.rejects(loadAuditKeys(h2.keyDir), keyRefused);
      } finally {
        await h2.cleanup();
      }
    } finally {
      await h.cleanup();
    }
  });

  test('key files owned by another user are refused (root only: needs chown)', { skip: !isRoot && 'needs root to chown' }, async () => {
    const h = await tempHome();
    try {
      await loadOrCreateAuditKeys(h.keyDir);
      await chown(join(h.keyDir, SIGNING_KEY_FILE), 65534, 65534);
      await assert.rejects(loadAuditKeys(h.keyDir), (e: unknown) => keyRefused(e) && /not owned/.test((e as Error).message));
    } finally {
      await h.cleanup();
    }
  });

  test('verify never creates keys', async () => {
    const h = await tempHome();
    try {
      await mkdir(h.auditDir, { recursive: true });
      const r = await verifyHome(h);
      assert.equal(r.exitCode, 3);
      await assert.rejects(stat(h.keyDir));
    } finally {
      await h.cleanup();
    }
  });
});
