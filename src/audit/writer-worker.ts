/**
 * Entry point of the audit worker thread: hosts one LogSink and relays its events. The caller's
 * thread only sanitises and encodes; HMAC, Merkle hashing, signing and file I/O happen here, so
 * audit cost neither blocks nor is blocked by the supervisor's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LogSink, type SinkConfig } from './sink.js';
import type { HostMessage, WorkerMessage } from './sink-host.js';

const port = parentPort;
if (port) {
  const send = (m: WorkerMessage): void => port.postMessage(m);
  const sink = new LogSink(workerData as SinkConfig, {
    durable: (seq, batches) => send({ t: 'durable', seq, batches }),
    failed: (f) => send({ t: 'failed', failure: f }),
  });
  port.on('message', (m: HostMessage) => {
    if (m.t === 'items') sink.accept(m.items);
    else if (m.t === 'close') {
      sink.close().then(
        () => send({ t: 'closed' }),
        () => send({ t: 'closed' }), // the failure itself was already reported
      ).finally(() => port.close());
    }
  });
  send({ t: 'ready' });
}
