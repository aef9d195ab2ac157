// socket.io-client against the interop server: nsp.timeout(2000).emit('ask', ..., (err, responses))
// collecting an ack from every client of the namespace (`broadcast-with-ack`; see
// reference/interop.mjs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, emitAck, normalize, pattern, waitForExactly } from './helpers.mjs';

/** `socket` answers each `ask` with `answer`, and records the arguments it came with. */
function answerAsks(socket, answer) {
  const asked = [];
  socket.on('ask', (...args) => {
    const ack = args.pop();
    asked.push(normalize(args));
    ack(answer);
  });
  return asked;
}

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('timeout().emit with an ack: every client of the namespace answers', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, B, C] = (await Promise.all([clients.connect(kind), clients.connect(kind), clients.connect(kind)])).map(
        (c) => c.socket,
      );
      await waitForExactly(A, [A.id, B.id, C.id]);
      const asked = [A, B, C].map((s, i) => answerAsks(s, `answer ${i}`));
      const buf = pattern(20, 9);
      // the asker is asked too: nsp.emit reaches every socket of the namespace
      const [result] = await emitAck(A, 'broadcast-with-ack', 'q', { n: 1 }, buf);
      assert.deepEqual(result, { err: null, count: 3 });
      for (const list of asked) assert.deepEqual(list, [['q', { n: 1 }, buf]]);
    });
  });
}

describe('socket.io default', () => {
  test('timeout().emit with an ack: a client that does not answer gives the error and the answers that came', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const [A, B, C] = (
      await Promise.all([clients.connect('default', '/custom'), clients.connect('websocket', '/custom'), clients.connect('polling', '/custom')])
    ).map((c) => c.socket);
    await waitForExactly(A, [A.id, B.id, C.id]);
    answerAsks(A, 'a');
    answerAsks(B, 'b');
    const silent = [];
    C.on('ask', (...args) => silent.push(args.length)); // takes the ack and never calls it
    const started = Date.now();
    const [result] = await emitAck(A, 'broadcast-with-ack');
    const took = Date.now() - started;
    assert.deepEqual(result, { err: 'operation has timed out', count: 2 });
    assert.ok(took >= 1900, `answered after ${took} ms, before the timeout of 2000`);
    assert.deepEqual(silent, [1]);
  });

  test('timeout().emit with an ack to a namespace of one: its own answer', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const { socket } = await clients.connect('websocket', '/custom');
    await waitForExactly(socket, [socket.id]);
    answerAsks(socket, 'me');
    assert.deepEqual(await emitAck(socket, 'broadcast-with-ack', 1), [{ err: null, count: 1 }]);
  });
});
