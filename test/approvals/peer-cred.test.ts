import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { nativePeerCred } from '../../src/approvals/server.js';
import { tempDir } from '../helpers/tmp.js';

test('SO_PEERCRED through the addon names the connecting process and its uid', async () => {
  const peerCred = nativePeerCred();
  assert.ok(peerCred, 'the addon is built by npm install');
  const path = join(tempDir('warden-peercred-'), 's.sock');
  const accepted = new Promise<Socket>((resolve) => {
    const srv = createServer((s) => {
      resolve(s);
      srv.close();
    });
    srv.listen(path);
  });
  const client = await new Promise<Socket>((resolve) => {
    const c = connect(path, () => resolve(c));
  });
  const s = await accepted;
  assert.deepEqual(await peerCred(s), { pid: process.pid, uid: process.getuid!() });
  client.destroy();
  s.destroy();
  assert.equal(await peerCred(s), undefined, 'a closed socket has no fd: no credentials, so the caller refuses');
});
