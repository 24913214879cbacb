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
import { chmodSync, closeSync, constants, fstatSync, fsync, linkSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

// Reading keys and checking directories are a handful of small local syscalls made on every start
// of `warden run`, whose start-up is a budget: they are synchronous (a thread-pool round trip each
// would cost more than the call). Only the fsyncs of a key's first publication are asynchronous.

/** Checks that a key directory is ours and private. */
export function checkKeyDir(keyDir: string): void {
  let st;
  try {
    st = statSync(keyDir);
  } catch (e) {
    if (errno(e) === 'ENOENT') throw keyError(`audit key directory ${keyDir} does not exist`, 'run warden once to create keys, or pass --key-dir');
    throw keyError(`cannot access audit key directory ${keyDir}: ${errno(e) ?? String(e)}`);
  }
  if (!st.isDirectory()) throw keyError(`audit key path ${keyDir} is not a directory`);
  if (st.uid !== currentUid()) throw keyError(`audit key directory ${keyDir} is not owned by the current user`, `chown it or use another WARDEN_HOME`);
  if ((st.mode & 0o077) !== 0) throw keyError(`audit key directory ${keyDir} is accessible by group or others`, `chmod 700 ${keyDir}`);
}

const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Reads a secret key file, refusing insecure ones. Returns null if it does not exist.
 */
export function readSecretFile(path: string): Buffer | null {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw keyError(`audit key ${path} is a symbolic link`, 'replace it with the real file');
    throw keyError(`cannot read audit key ${path}: ${code ?? String(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw keyError(`audit key ${path} is not a regular file`);
    if (st.uid !== currentUid()) throw keyError(`audit key ${path} is not owned by the current user`, 'restore the key file or remove it to start a new key');
    if ((st.mode & 0o077) !== 0) throw keyError(`audit key ${path} is accessible by group or others`, `chmod 600 ${path} (and consider the key compromised)`);
    if (st.size > MAX_KEY_FILE_BYTES) throw keyError(`audit key ${path} is implausibly large`);
    // Read to EOF (at most one byte past the limit), whatever the size fstat reported.
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > MAX_KEY_FILE_BYTES) throw keyError(`audit key ${path} is implausibly large`);
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof WardenError) throw e;
    throw keyError(`cannot read audit key ${path}: ${errno(e) ?? String(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** Publishes a new secret file atomically; if another process won the race, keeps theirs. */
async function publishSecretFile(dir: string, name: string, data: Buffer): Promise<void> {
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  await writeNewDurable(tmp, data);
  try {
    linkSync(tmp, final);
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
  } finally {
    unlinkQuietly(tmp);
  }
  await fsyncDir(dir);
}

/**
 * Creates `path` (0600, must not exist), writes `data` and makes it durable; removed again on
 * failure. The small syscalls are synchronous and only the fsync waits in the thread pool, and
 * nothing here needs node:fs/promises, which `warden run` would otherwise load (~0.8 ms) at start.
 */
export async function writeNewDurable(path: string, data: string | Buffer): Promise<void> {
  const fd = openSync(path, 'wx', 0o600);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let n = 0; n < bytes.length; ) n += writeSync(fd, bytes, n);
    await fsyncFd(fd);
  } catch (e) {
    unlinkQuietly(path);
    throw e;
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

const fsyncFd = promisify(fsync);

/** Makes a directory's entries durable. Open and close are synchronous (short, no I/O wait); the fsync is not. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `dir` (and parents) as 0700 if missing. */
export function ensurePrivateDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(dir, 0o700); // umask may have widened nothing, but be exact
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

/**
 * The writer's keys if both exist, else null; synchronous (`warden run` opens its log on the
 * critical path of its start-up, and an await here would queue the genesis behind other work).
 * Insecure or malformed key files throw, as in loadOrCreateAuditKeys.
 */
export function existingAuditKeys(keyDir: string): AuditKeys | null {
  try {
    ensurePrivateDir(keyDir);
  } catch (e) {
    throw keyError(`cannot create audit key directory ${keyDir}: ${errno(e) ?? String(e)}`);
  }
  checkKeyDir(keyDir);
  const macPath = join(keyDir, MAC_KEY_FILE);
  const sigPath = join(keyDir, SIGNING_KEY_FILE);
  const mac = readSecretFile(macPath);
  const sig = mac === null ? null : readSecretFile(sigPath);
  return mac === null || sig === null ? null : parsedKeys(mac, macPath, sig, sigPath);
}

/** Loads the writer's keys, creating them on first use. Each key file is read and parsed once. */
export async function loadOrCreateAuditKeys(keyDir: string): Promise<AuditKeys> {
  const existing = existingAuditKeys(keyDir);
  if (existing) return existing;
  const macPath = join(keyDir, MAC_KEY_FILE);
  const sigPath = join(keyDir, SIGNING_KEY_FILE);
  let mac = readSecretFile(macPath);
  let sig = readSecretFile(sigPath);
  try {
    // After publishing, read the file back: a concurrent first start may have won the race.
    if (mac === null) {
      await publishSecretFile(keyDir, MAC_KEY_FILE, Buffer.from(randomBytes(32).toString('hex') + '\n'));
      mac = readSecretFile(macPath);
    }
    if (sig === null) {
      const { privateKey } = generateKeyPairSync('ed25519');
      await publishSecretFile(keyDir, SIGNING_KEY_FILE, Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' })));
      sig = readSecretFile(sigPath);
    }
  } catch (e) {
    if (e instanceof WardenError) throw e;
    throw keyError(`cannot create audit keys in ${keyDir}: ${errno(e) ?? String(e)}`);
  }
  if (mac === null || sig === null) throw keyError(`audit keys in ${keyDir} disappeared while starting`);
  return parsedKeys(mac, macPath, sig, sigPath);
}

function parsedKeys(mac: Buffer, macPath: string, sig: Buffer, sigPath: string): AuditKeys {
  const macKey = parseMacKey(mac, macPath);
  const signingKey = parseSigningKey(sig, sigPath);
  return { macKey, macKeyId: macKeyId(macKey), signingKey, publicKey: createPublicKey(signingKey) };
}

/** Loads whatever keys exist (never creates). Insecure files throw; missing ones are undefined. */
export async function loadAuditKeys(keyDir: string): Promise<Partial<AuditKeys>> {
  checkKeyDir(keyDir);
  const out: Partial<AuditKeys> = {};
  const macPath = join(keyDir, MAC_KEY_FILE);
  const mac = readSecretFile(macPath);
  if (mac) {
    out.macKey = parseMacKey(mac, macPath);
    out.macKeyId = macKeyId(out.macKey);
  }
  const sigPath = join(keyDir, SIGNING_KEY_FILE);
  const sig = readSecretFile(sigPath);
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
    text = readFileSync(path, 'utf8').trim();
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
