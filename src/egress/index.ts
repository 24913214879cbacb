/** Warden's egress layer: the proxy (HTTP CONNECT, absolute-form HTTP, SOCKS5) and the DNS stub. */
export { createEgressProxy, type EgressProxy, type EgressProxyOptions, type ListenTarget } from './proxy.js';
export { createDnsStub, type DnsStub, type DnsStubOptions, type DnsStats } from './dns.js';
export type { EgressAuditRecord, DnsAuditRecord, EgressProtocol } from './audit.js';
export type { EgressLimits, EgressStats } from './conn.js';
export { DEFAULT_LIMITS } from './conn.js';
export type { Approver, ApprovalRequest } from './gate.js';
export { systemResolver, dnsResolver, staticResolver, type Resolver } from './resolve.js';
