/**
 * The JSON-RPC message shape MCP accepts, checked by hand on the hot path: exactly what the SDK's
 * `JSONRPCMessageSchema` (a zod union of strict request / notification / result / error objects)
 * accepts, without zod's per-message cost (it rebuilt every object of every message; ~30 % of the
 * gateway's per-call CPU). test/mcp/unit.test.ts checks both agree on a corpus of messages.
 *
 * Threat: a peer sends something that is not one of the four shapes (extra top-level keys, a
 * non-integer id, an array where an object belongs) hoping the gateway classifies it one way and
 * the other side another. Invariant: anything the SDK schema would reject is rejected here, with
 * the path of the first offending field; on doubt (e.g. unsafe integers) this check is stricter.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
const isId = (v: unknown): boolean => typeof v === 'string' || isInt(v);
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);

/** `_meta` of params and results: an object; progressToken an id; the related-task entry {taskId: string}. */
function metaProblem(meta: unknown, at: string): string | undefined {
  if (meta === undefined) return undefined;
  if (!isObj(meta)) return `${at}._meta: expected object`;
  if (meta['progressToken'] !== undefined && !isId(meta['progressToken'])) return `${at}._meta.progressToken: expected string or integer`;
  const rt = meta[RELATED_TASK];
  if (rt !== undefined && !(isObj(rt) && typeof rt['taskId'] === 'string')) return `${at}._meta.${RELATED_TASK}: expected {taskId: string}`;
  return undefined;
}

function onlyKeys(m: Obj, allowed: ReadonlySet<string>): string | undefined {
  for (const k in m) if (!allowed.has(k)) return `${k}: unrecognized key`;
  return undefined;
}

/** Undefined when `v` is a well-formed MCP JSON-RPC message; else "path: problem". */
export function shapeProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'message: expected object';
  if (v['jsonrpc'] !== '2.0') return 'jsonrpc: expected "2.0"';
  if ('method' in v) {
    if (typeof v['method'] !== 'string') return 'method: expected string';
    const keys = onlyKeys(v, 'id' in v ? REQUEST_KEYS : NOTIFICATION_KEYS);
    if (keys) return keys;
    if ('id' in v && !isId(v['id'])) return 'id: expected string or integer';
    const params = v['params'];
    if (params === undefined) return undefined;
    if (!isObj(params)) return 'params: expected object';
    return metaProblem(params['_meta'], 'params');
  }
  if ('result' in v) {
    const keys = onlyKeys(v, RESULT_KEYS);
    if (keys) return keys;
    if (!isId(v['id'])) return 'id: expected string or integer';
    if (!isObj(v['result'])) return 'result: expected object';
    return metaProblem(v['result']['_meta'], 'result');
  }
  if ('error' in v) {
    const keys = onlyKeys(v, ERROR_KEYS);
    if (keys) return keys;
    if (v['id'] !== undefined && !isId(v['id'])) return 'id: expected string or integer';
    const e = v['error'];
    if (!isObj(e)) return 'error: expected object';
    if (!isInt(e['code'])) return 'error.code: expected integer';
    if (typeof e['message'] !== 'string') return 'error.message: expected string';
    return undefined;
  }
  return 'message: not a request, notification, result or error';
}
