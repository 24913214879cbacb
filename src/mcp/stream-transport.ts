import type { Readable, Writable } from 'node:stream';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { DEFAULT_MAX_MESSAGE_BYTES, LineDecoder } from './framing.js';
import { parseMessage, sniffId, type JSONRPCMessage, type RequestId } from './jsonrpc.js';

/**
 * An MCP stdio transport (the SDK's `Transport` contract) over any readable/writable pair: the
 * gateway's own stdin/stdout toward the client, or the upstream child's pipes.
 *
 * Differences from the SDK's stdio transports, each a defence:
 * - framing is bounded (`LineDecoder`): an oversized message is skipped, not buffered, and reported
 *   through `oninvalid` with any request id recovered from its head/tail;
 * - a malformed line is reported through `oninvalid` (with the id if one can be read) and the
 *   connection stays up, so one bad message cannot tear down mediation;
 * - flow control is exposed (`congested`, `ondrain`, `pauseReading`, `resumeReading`) so the gateway
 *   can stop reading from a producer while the consumer is not keeping up, instead of queueing
 *   without bound.
 */

export interface InvalidMessage {
  code: number;
  reason: string;
  id: RequestId | undefined;
  bytes: number;
}

export interface FlowControl {
  /** True while writes are queued beyond the stream's high-water mark. */
  readonly congested: boolean;
  ondrain?: (() => void) | undefined;
  pauseReading(): void;
  resumeReading(): void;
}

export interface StreamTransportOptions {
  maxMessageBytes?: number;
}

export class StreamTransport implements Transport, FlowControl {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;
  oninvalid?: ((info: InvalidMessage) => void) | undefined;
  ondrain?: (() => void) | undefined;

  private readonly decoder: LineDecoder;
  private started = false;
  private closed = false;
  private pauses = 0;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    opts: StreamTransportOptions = {},
  ) {
    this.decoder = new LineDecoder(opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  }

  get congested(): boolean {
    return this.output.writableNeedDrain;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('StreamTransport already started');
    this.started = true;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onStreamError);
    this.output.on('error', this.onStreamError);
    this.output.on('drain', this.onDrain);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const f of this.decoder.push(buf)) {
      if (this.closed) return;
      if (f.kind === 'oversize') {
        this.oninvalid?.({ code: -32010, reason: `message of ${f.bytes} bytes exceeds the limit`, id: sniffId(f.head, f.tail), bytes: f.bytes });
        continue;
      }
      const v = parseMessage(f.text);
      if (v.ok) {
        try {
          this.onmessage?.(v.message);
        } catch (e) {
          this.onerror?.(e as Error);
        }
      } else {
        this.oninvalid?.({ code: v.code, reason: v.reason, id: v.id, bytes: Buffer.byteLength(f.text) });
      }
    }
  };

  private readonly onEnd = (): void => {
    const { discardedBytes } = this.decoder.end();
    if (discardedBytes > 0) this.oninvalid?.({ code: -32700, reason: `stream ended inside a message (${discardedBytes} bytes discarded)`, id: undefined, bytes: discardedBytes });
    void this.close();
  };

  private readonly onStreamError = (e: Error): void => {
    this.onerror?.(e);
    // EPIPE and friends: the peer is gone.
    if ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ERR_STREAM_DESTROYED') void this.close();
  };

  private readonly onDrain = (): void => {
    this.ondrain?.();
  };

  pauseReading(): void {
    if (this.pauses++ === 0) this.input.pause();
  }

  resumeReading(): void {
    if (this.pauses > 0 && --this.pauses === 0 && !this.closed) this.input.resume();
  }

  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.closed || this.output.destroyed || this.output.writableEnded) throw new Error('transport closed');
    // One write per message, newline included, so messages are never interleaved.
    this.output.write(JSON.stringify(message) + '\n');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.output.off('drain', this.onDrain);
    this.input.pause();
    this.onclose?.();
  }

  /** Ends the output after queued writes are flushed; resolves when flushed (or on error). */
  async flushAndEnd(): Promise<void> {
    if (this.output.writableEnded || this.output.destroyed) return;
    await new Promise<void>((resolve) => {
      this.output.end(() => resolve());
      this.output.once('error', () => resolve());
    });
  }
}
