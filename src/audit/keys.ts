/**
 * Audit keys: the HMAC chain key and the Ed25519 checkpoint signing key.
 *
 * Layout (default directory: `wardenDirs().keys`, kept apart from the audit directory):
 *   audit-mac.key      32 random bytes as lowercase hex + "\n"      mode 0600
 *   audit-signing.pem  Ed25519 private key, PKCS#8 PEM              mode 0600
 *   anchors/           latest signed checkpoint per log (anchor.ts) mode 0700
 * The directory itself is mode 0700.
 *
 * Threats and invariants:
 * - Anyone who can read a key can forge records (HMAC) or checkpoints (Ed25519). We refuse key
 *   files and key directories that are not owned by the current user or that group/others can
 *   access in any way, and we refuse symlinked key files (O_NOFOLLOW) so a planted link cannot
 *   redirect us to an attacker-readable file.
 * - Two Warden processes may start at once with no keys yet. Keys are written to a unique
 *   temporary file and published with link(2), which fails if the name exists, so exactly one
 *   key wins and both processes then load that one.
 * - Verification never creates keys: a missing key means "cannot verify", not "new key".
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { WardenError } from '../errors.js';

export const MAC_KEY_FILE = 'audit-mac.key';
export const SIGNING_KEY_FILE = 'audit-signing.pem';
export const ANCHOR_SUBDIR = 'anchors';

export interface AuditKeys {
  macKey: Buffer;
  /** Non-secret identifier of the HMAC key (recorded in genesis records). */
  macKeyId: string;
  signingKey: KeyObject;
  publicKey: KeyObject;
}

type KeyError = WardenError<'AUDIT_KEY_MISSING'>;

function keyError(message: string, hint?: string): KeyError {
  return new WardenError('AUDIT_KEY_MISSING', message, hint);
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/** Checks that a key directory is ours and private. */
export async function checkKeyDir(keyDir: string): Promise<void> {
  let st;
  try {
    st = await stat(keyDir);
  } catch (e) {
    if (errno(e) === 'ENOENT') throw keyError(`audit key directory ${keyDir} does not exist`, 'run warden once to create keys, or pass --key-dir');
    throw keyError(`cannot access audit key directory ${keyDir}: ${errno(e) ?? String(e)}`);
  }
  if (!st.isDirectory()) throw keyError(`audit key path ${keyDir} is not a directory`);
  if (st.uid !== currentUid()) throw keyError(`audit key directory ${keyDir} is not owned by the current user`, `chown it or use another WARDEN_HOME`);
  if ((st.mode & 0o077) !== 0) throw keyError(`audit key directory ${keyDir} is accessible by group or others`, `chmod 700 ${keyDir}`);
}

/**
 * Reads a secret key file, refusing insecure ones. Returns null if it does not exist.
 */
export async function readSecretFile(path: string): Promise<Buffer | null> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw keyError(`audit key ${path} is a symbolic link`, 'replace it with the real file');
    throw keyError(`cannot read audit key ${path}: ${code ?? String(e)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw keyError(`audit key ${path} is not a regular file`);
    if (st.uid !== currentUid()) throw keyError(`audit key ${path} is not owned by the current user`, 'restore the key file or remove it to start a new key');
    if ((st.mode & 0o077) !== 0) throw keyError(`audit key ${path} is accessible by group or others`, `chmod 600 ${path} (and consider the key compromised)`);
    if (st.size > 64 * 1024) throw keyError(`audit key ${path} is implausibly large`);
    return await fh.readFile();
  } catch (e) {
    if (e instanceof WardenError) throw e;
    throw keyError(`cannot read audit key ${path}: ${errno(e) ?? String(e)}`);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Publishes a new secret file atomically; if another process won the race, keeps theirs. */
async function publishSecretFile(dir: string, name: string, data: Buffer): Promise<void> {
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, final);
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Creates `dir` (and parents) as 0700 if missing. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700); // umask may have widened nothing, but be exact
}

function parseMacKey(buf: Buffer, path: string): Buffer {
  const text = buf.toString('utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw keyError(`audit key ${path} is malformed`, 'restore it from backup');
  return Buffer.from(text, 'hex');
}

function parseSigningKey(buf: Buffer, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(buf);
  } catch {
    throw keyError(`audit signing key ${path} is malformed`, 'restore it from backup');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(`audit signing key ${path} is not an Ed25519 key`);
  return key;
}

export function macKeyId(macKey: Buffer): string {
  return createHash('sha256').update('warden.audit.mac-key-id\0').update(macKey).digest('hex').slice(0, 16);
}

/** The 32-byte raw Ed25519 public key. */
export function rawPublicKey(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/** Short fingerprint of a public key: first 16 hex chars of SHA-256(raw key). */
export function publicKeyId(pub: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(pub)).digest('hex').slice(0, 16);
}

export function publicKeyPem(pub: KeyObject): string {
  return pub.export({ format: 'pem', type: 'spki' }).toString();
}

/** Loads the writer's keys, creating them on first use. */
export async function loadOrCreateAuditKeys(keyDir: string): Promise<AuditKeys> {
  try {
    await ensurePrivateDir(keyDir);
  } catch (e) {
    throw keyError(`cannot create audit key directory ${keyDir}: ${errno(e) ?? String(e)}`);
  }
  await checkKeyDir(keyDir);
  try {
    if ((await readSecretFile(join(keyDir, MAC_KEY_FILE))) === null) {
      await publishSecretFile(keyDir, MAC_KEY_FILE, Buffer.from(randomBytes(32).toString('hex') + '\n'));
    }
    if ((await readSecretFile(join(keyDir, SIGNING_KEY_FILE))) === null) {
      const { privateKey } = generateKeyPairSync('ed25519');
      await publishSecretFile(keyDir, SIGNING_KEY_FILE, Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' })));
    }
  } catch (e) {
    if (e instanceof WardenError) throw e;
    throw keyError(`cannot create audit keys in ${keyDir}: ${errno(e) ?? String(e)}`);
  }
  const keys = await loadAuditKeys(keyDir);
  if (!keys.macKey || !keys.signingKey) throw keyError(`audit keys in ${keyDir} disappeared while starting`);
  return keys as AuditKeys;
}

/** Loads whatever keys exist (never creates). Insecure files throw; missing ones are undefined. */
export async function loadAuditKeys(keyDir: string): Promise<Partial<AuditKeys>> {
  await checkKeyDir(keyDir);
  const out: Partial<AuditKeys> = {};
  const macPath = join(keyDir, MAC_KEY_FILE);
  const mac = await readSecretFile(macPath);
  if (mac) {
    out.macKey = parseMacKey(mac, macPath);
    out.macKeyId = macKeyId(out.macKey);
  }
  const sigPath = join(keyDir, SIGNING_KEY_FILE);
  const sig = await readSecretFile(sigPath);
  if (sig) {
    out.signingKey = parseSigningKey(sig, sigPath);
    out.publicKey = createPublicKey(out.signingKey);
  }
  return out;
}

/** Reads an exported public key: SPKI PEM, or the raw 32-byte key in base64. */
export async function readPublicKeyFile(path: string): Promise<KeyObject> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (e) {
    throw keyError(`cannot read public key ${path}: ${errno(e) ?? String(e)}`);
  }
  return parsePublicKey(text, path);
}

export function parsePublicKey(text: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    if (text.includes('-----BEGIN')) key = createPublicKey(text);
    else {
      const raw = Buffer.from(text, 'base64');
      if (raw.length !== 32) throw new Error('not 32 bytes');
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
  } catch {
    throw keyError(`public key ${what} is not a PEM or base64 Ed25519 public key`, 'export it with `warden audit pubkey`');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(`public key ${what} is not an Ed25519 key`);
  return key;
}
