/**
 * Public surface of the audit log (L4 evidence). See FORMAT.md for the on-disk format.
 */
export { type AuditWriter, type AuditWriterOptions, openAuditWriter } from './writer.js';
export type { AuditEventInput, GenesisInfo } from './record.js';
export {
  type Damage,
  type DamageKind,
  type LogReport,
  type Status,
  type VerifyOptions,
  type VerifyReport,
  type Warning,
  type WarningKind,
  verifyAudit,
} from './verify.js';
export { loadAuditKeys, loadOrCreateAuditKeys, publicKeyPem, readPublicKeyFile } from './keys.js';
