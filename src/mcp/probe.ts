import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { classify, type JSONRPCMessage } from './jsonrpc.js';

/**
 * A minimal raw MCP client used by `warden mcp pin`: initialize, then every page of tools/list.
 * Raw on purpose — the SDK's Client parses tool definitions through schemas that drop unknown
 * fields, and a pin must be computed over exactly what the gateway will see.
 */

export interface ProbeResult {
  serverInfo: { name: string; version?: string };
  instructions: string | undefined;
  tools: Array<Record<string, unknown>>;
}

export async function probeServer(transport: Transport, timeoutMs = 30_000): Promise<ProbeResult> {
  let next = 1;
  const waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  let closed = false;
  transport.onmessage = (m: JSONRPCMessage) => {
    const c = classify(m);
    if (c.kind === 'request') {
      // Answer server requests minimally (ping → {}, anything else → method not found).
      void transport.send((c.method === 'ping' ? { jsonrpc: '2.0', id: c.id, result: {} } : { jsonrpc: '2.0', id: c.id, error: { code: -32601, message: 'not supported by warden mcp pin' } }) as JSONRPCMessage);
      return;
    }
    if (c.kind === 'notification' || typeof c.id !== 'number') return;
    const w = waiting.get(c.id);
    if (!w) return;
    waiting.delete(c.id);
    if (c.kind === 'result') w.resolve(c.result);
    else w.reject(new Error(`${c.error.message} (${c.error.code})`));
  };
  transport.onclose = () => {
    closed = true;
    for (const w of waiting.values()) w.reject(new Error('server closed the connection'));
    waiting.clear();
  };
  const request = (method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error('server closed the connection'));
      const id = next++;
      const t = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      transport.send({ jsonrpc: '2.0', id, method, params } as JSONRPCMessage).catch(reject);
    });
  await transport.start();
  const init = await request('initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'warden-mcp-pin', version: '1' } });
  if (typeof init['protocolVersion'] === 'string') transport.setProtocolVersion?.(init['protocolVersion']);
  await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' } as JSONRPCMessage);
  const si = (init['serverInfo'] ?? {}) as Record<string, unknown>;
  const tools: Array<Record<string, unknown>> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 64; page++) {
    const r = await request('tools/list', cursor !== undefined ? { cursor } : {});
    if (!Array.isArray(r['tools'])) throw new Error('tools/list result has no tools array');
    for (const t of r['tools']) if (t && typeof t === 'object') tools.push(t as Record<string, unknown>);
    if (typeof r['nextCursor'] !== 'string') break;
    cursor = r['nextCursor'];
  }
  return {
    serverInfo: { name: typeof si['name'] === 'string' ? si['name'] : '', ...(typeof si['version'] === 'string' ? { version: si['version'] } : {}) },
    instructions: typeof init['instructions'] === 'string' ? init['instructions'] : undefined,
    tools,
  };
}
