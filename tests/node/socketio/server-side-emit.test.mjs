// socket.io-client against the interop server alone: nsp.serverSideEmit('hello', ...) and
// nsp.serverSideEmitWithAck('ping') with no other server to reach (`server-side-emit`,
// `server-side-emit-with-ack`; see reference/interop.mjs). With several servers (a Redis
// adapter) the other servers answer; here there are none.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, TEST_TIMEOUT, Recorder, emitAck, sleep } from './helpers.mjs';

const OURS = process.env.SERVER_KIND !== 'reference';

describe('socket.io websocket', () => {
  test('serverSideEmit alone: no other server, so no hello-back', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const { socket } = await clients.connect('websocket');
    const rec = new Recorder(socket, ['hello-back']);
    socket.emit('server-side-emit', 'hi', 1);
    // a round trip after it, then a grace period: nothing came back
    assert.deepEqual(await emitAck(socket, 'message-with-ack', 'sync'), ['sync']);
    await sleep(200);
    assert.deepEqual(rec.log['hello-back'], []);
    assert.equal(socket.connected, true);
  });

  test('serverSideEmitWithAck alone', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const { socket } = await clients.connect('websocket', '/custom');
    const answer = new Promise((resolve) => {
      socket.timeout(1000).emit('server-side-emit-with-ack', (err, result) => resolve({ err, result }));
    });
    const { err, result } = await answer;
    if (OURS) {
      // ours answers at once with no responses, as a cluster adapter alone does
      assert.equal(err, null);
      assert.deepEqual(result, { err: null, responses: [] });
    } else {
      // the reference's in-memory adapter only warns: serverSideEmitWithAck never settles
      assert.equal(err?.message, 'operation has timed out');
    }
    assert.deepEqual(await emitAck(socket, 'message-with-ack', 'after'), ['after']);
  });
});
