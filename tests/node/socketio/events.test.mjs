// socket.io-client against the interop server: events, acks both ways, binary.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, emitAck, normalize, pattern, waitEvent } from './helpers.mjs';

const PLAIN_ARGS = ['text', 42, 3.5, -1, true, false, null, { a: 1, b: [1, 'two', { c: null }] }, ['x', 'y'], 'ünïcödé ✓ 🌍', ''];

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('`message` gets `message-back` with the same arguments', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      let back = waitEvent(socket, 'message-back');
      socket.emit('message', ...PLAIN_ARGS);
      assert.deepEqual(await back, PLAIN_ARGS);
      back = waitEvent(socket, 'message-back');
      socket.emit('message');
      assert.deepEqual(await back, []);
    });

    test('several events come back in order', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const got = [];
      const done = new Promise((resolve) =>
        socket.on('message-back', (i, payload) => {
          got.push([i, normalize(payload)]);
          if (got.length === 30) resolve();
        }),
      );
      const sent = [];
      for (let i = 0; i < 30; i++) {
        const payload = i % 3 === 0 ? pattern(8 + i, i + 1) : `p${i}`;
        sent.push([i, payload]);
        socket.emit('message', i, payload);
      }
      await done;
      assert.deepEqual(got, sent);
    });

    test('client -> server ack: `message-with-ack` acks its arguments', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', ...PLAIN_ARGS), PLAIN_ARGS);
      assert.deepEqual(await emitAck(socket, 'message-with-ack'), []);
      // several acks in flight at once, each answered with its own arguments
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => emitAck(socket, 'message-with-ack', i, `n${i}`)));
      answers.forEach((a, i) => assert.deepEqual(a, [i, `n${i}`]));
      // emitWithAck (promise API) resolves with the first argument
      assert.equal(await socket.emitWithAck('message-with-ack', 'first', 'second'), 'first');
    });

    test('server -> client ack: `emit-with-ack` -> `ask`, client acks, `ask-answered`', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const asked = [];
      socket.on('ask', (...args) => {
        const ack = args.pop();
        assert.equal(typeof ack, 'function', '`ask` comes with an ack callback');
        asked.push(args);
        ack('answer', 42, { ok: true }, [1, 2]);
      });
      const answered = waitEvent(socket, 'ask-answered');
      socket.emit('emit-with-ack', 'question', 7);
      assert.deepEqual(await answered, ['answer', 42, { ok: true }, [1, 2]]);
      assert.deepEqual(asked, [['question', 7]]);
    });

    test('server -> client ack not answered: `ask-timeout` after 5 s', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      let answered = false;
      socket.on('ask-answered', () => (answered = true));
      const asked = waitEvent(socket, 'ask');
      const timedOut = waitEvent(socket, 'ask-timeout');
      const t0 = Date.now();
      socket.emit('emit-with-ack', 'ignored');
      const args = await asked;
      assert.equal(typeof args.at(-1), 'function');
      assert.deepEqual(await timedOut, []);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 4500 && elapsed < 9000, `ask-timeout after ${elapsed} ms, expected about 5000`);
      assert.equal(answered, false);
    });

    test('binary: `message` with Buffers gets identical bytes back', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const nested = { name: 'file', data: pattern(100, 5), parts: [pattern(3, 6), 'text', { deep: pattern(1, 7) }] };
      const big = pattern(64 * 1024, 8);
      const back = waitEvent(socket, 'message-back');
      socket.emit('message', all, 'between', nested, big, Buffer.alloc(0), new Uint8Array([9, 8, 7]));
      const got = await back;
      assert.equal(got.length, 6);
      for (const i of [0, 3, 4, 5]) assert.notEqual(typeof got[i], 'string', `argument ${i} should arrive as binary`);
      assert.deepEqual(normalize(got), [all, 'between', nested, big, Buffer.alloc(0), Buffer.from([9, 8, 7])]);
    });

    test('binary acks: client -> server ack and server -> client ack with Buffers', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const a = pattern(300, 11);
      const b = { buf: pattern(17, 12), list: [pattern(2, 13)] };
      // client -> server: the ack carries the Buffers back
      assert.deepEqual(normalize(await emitAck(socket, 'message-with-ack', a, 'x', b)), [a, 'x', b]);
      // server -> client: `ask` carries Buffers to the client, the client acks with Buffers
      const reply = pattern(1000, 14);
      let askedWith = null;
      socket.on('ask', (...args) => {
        const ack = args.pop();
        askedWith = normalize(args);
        ack(reply, { inner: pattern(5, 15) }, 'done');
      });
      const answered = waitEvent(socket, 'ask-answered');
      socket.emit('emit-with-ack', a, b);
      assert.deepEqual(normalize(await answered), [reply, { inner: pattern(5, 15) }, 'done']);
      assert.deepEqual(askedWith, [a, b]);
    });
  });
}
