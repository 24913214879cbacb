import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { shapeProblem } from './jsonrpc-shape.js';

/**
 * Pure JSON-RPC 2.0 helpers for the gateway: classifying messages, building error responses, and
 * recovering a request id from a message we refuse to parse (so the peer waiting on that id gets an
 * error instead of hanging). The SDK's `JSONRPCMessageSchema` is the definition of a well-formed
 * message (checked by hand in jsonrpc-shape.ts, the same acceptance); we only validate and always
 * forward the original object, so fields the SDK does not know survive the proxy unchanged.
 */

export { ErrorCode };
export type { JSONRPCMessage, RequestId };

export type Classified =
  | { kind: 'request'; id: RequestId; method: string; params: Record<string, unknown> | undefined }
  | { kind: 'notification'; method: string; params: Record<string, unknown> | undefined }
  | { kind: 'result'; id: RequestId; result: Record<string, unknown> }
  | { kind: 'error'; id: RequestId | undefined; error: { code: number; message: string; data?: unknown } };

/** Gateway-specific error codes (JSON-RPC server-error range -32000..-32099). */
export const GatewayError = {
  /** The upstream server went away while the request was pending. */
  UpstreamClosed: ErrorCode.ConnectionClosed,
  /** A message exceeded the configured size limit and was discarded. */
  MessageTooLarge: -32010,
  /** The other side sent a response the gateway could not accept. */
  BadUpstreamResponse: -32011,
  /** Too many requests in flight. */
  Overloaded: -32012,
  /** The method is not mediated by the gateway and unknown methods are denied. */
  MethodDenied: ErrorCode.MethodNotFound,
} as const;

export function classify(msg: JSONRPCMessage): Classified {
  const m = msg as Record<string, unknown>;
  if (typeof m['method'] === 'string') {
    const params = m['params'] as Record<string, unknown> | undefined;
    if ('id' in m) return { kind: 'request', id: m['id'] as RequestId, method: m['method'], params };
    return { kind: 'notification', method: m['method'], params };
  }
  if ('result' in m) return { kind: 'result', id: m['id'] as RequestId, result: m['result'] as Record<string, unknown> };
  return { kind: 'error', id: m['id'] as RequestId | undefined, error: m['error'] as { code: number; message: string } };
}

export type Validation = { ok: true; message: JSONRPCMessage } | { ok: false; code: number; reason: string; id: RequestId | undefined };

function idOf(v: unknown): RequestId | undefined {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const id = (v as Record<string, unknown>)['id'];
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return id;
  }
  return undefined;
}

/** Parses one framed line. Never throws. */
export function parseMessage(text: string): Validation {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: ErrorCode.ParseError, reason: `parse error: ${(e as Error).message.slice(0, 200)}`, id: sniffId(text) };
  }
  if (Array.isArray(v)) return { ok: false, code: ErrorCode.InvalidRequest, reason: 'JSON-RPC batches are not supported by MCP', id: undefined };
  const problem = shapeProblem(v);
  if (problem !== undefined) return { ok: false, code: ErrorCode.InvalidRequest, reason: `invalid JSON-RPC message (${problem})`.slice(0, 300), id: idOf(v) };
  return { ok: true, message: v as JSONRPCMessage };
}

const ID_RE = /"id"\s*:\s*("(?:[^"\\]|\\.){0,256}"|-?\d{1,20})/g;

/**
 * Best-effort id recovery from the bounded head and tail of a message we will not parse in full
 * (oversized or malformed). Takes the last top-level-looking `"id":` match; a wrong guess can only
 * ever produce an error response for a request the peer really has pending, never a success.
 */
export function sniffId(...parts: string[]): RequestId | undefined {
  let found: RequestId | undefined;
  for (const part of parts) {
    for (const m of part.matchAll(ID_RE)) {
      const raw = m[1] as string;
      try {
        const v = JSON.parse(raw) as unknown;
        if (typeof v === 'string' || typeof v === 'number') found = v;
      } catch {
        /* ignore */
      }
    }
  }
  return found;
}

export function errorResponse(id: RequestId | undefined, code: number, message: string, data?: unknown): JSONRPCMessage {
  const err: { code: number; message: string; data?: unknown } = { code, message };
  if (data !== undefined) err.data = data;
  // An unknown id is omitted (the SDK's schema has no `null` id).
  return (id === undefined ? { jsonrpc: '2.0', error: err } : { jsonrpc: '2.0', id, error: err }) as JSONRPCMessage;
}

export function resultResponse(id: RequestId, result: Record<string, unknown>): JSONRPCMessage {
  return { jsonrpc: '2.0', id, result } as JSONRPCMessage;
}

/** A copy of `msg` with its `id` replaced; every other field is kept as received. */
export function withId<T extends JSONRPCMessage>(msg: T, id: RequestId): T {
  return { ...(msg as object), id } as T;
}
