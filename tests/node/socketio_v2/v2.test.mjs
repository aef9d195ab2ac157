// socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) against the interop server with
// allowEIO3: connecting (no CONNECT for `/`, the namespace's query as auth, the Engine.IO id as
// socket id), events, acks both ways, binary, a middleware's refusal, the client's pings, and
// disconnects both ways; each over polling, WebSocket only, and polling then upgrade. Then a
// 2.x client and a 4.x client on one server at once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io as ioV4 } from 'socket.io-client';
import { Clients, KINDS, SERVER_URL, TEST_TIMEOUT, emitAck, sleep, waitEvent, within } from './helpers.mjs';

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io-client 2.x ${kind}`, () => {
    test('connect to /: connected without a CONNECT, the socket id is the Engine.IO id, auth is {}', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/', { query: { token: 'abc' } });
      assert.deepEqual(await auth, [{}], "a 2.x client's auth on / is always empty");
      assert.equal(socket.id, socket.io.engine.id);
      assert.match(socket.id, /^[\w-]{20}$/);
    });

    test('connect to /custom with a query: it is the auth, the id is /custom#<Engine.IO id>', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/custom', { query: { token: 'abc', n: '1' } });
      assert.deepEqual(await auth, [{ token: 'abc', n: '1' }]);
      assert.equal(socket.id, `/custom#${socket.io.engine.id}`);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'in /custom'), ['in /custom']);
    });

    test('events and acks both ways', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const back = waitEvent(socket, 'message-back');
      socket.emit('message', 'hello', 42, { nested: [true, null] }, 'é😀');
      assert.deepEqual(await within(5000, back, 'no message-back'), ['hello', 42, { nested: [true, null] }, 'é😀']);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 1, 'two', [3]), [1, 'two', [3]]);
      // The server asks with an ack; the client answers.
      socket.once('ask', (question, answer) => answer(`answer to ${question}`));
      const answered = waitEvent(socket, 'ask-answered');
      socket.emit('emit-with-ack', 'q1');
      assert.deepEqual(await within(5000, answered, 'no ask-answered'), ['answer to q1']);
    });

    test('binary both ways, top level and nested', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      const back = waitEvent(socket, 'message-back');
      socket.emit('message', bytes, { file: Buffer.from('abc') }, 'text');
      const [first, second, third] = await within(5000, back, 'no binary message-back');
      assert.ok(Buffer.isBuffer(first), `a Buffer back, got ${typeof first}`);
      assert.deepEqual([...first], [...bytes]);
      assert.deepEqual(Object.keys(second), ['file']);
      assert.equal(Buffer.from(second.file).toString(), 'abc');
      assert.equal(third, 'text');
      const [acked] = await emitAck(socket, 'message-with-ack', Buffer.alloc(2000, 7));
      assert.equal(acked.length, 2000);
      assert.ok(acked.every((b) => b === 7));
    });

    test('unknown namespace: an error event "Invalid namespace"', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const socket = clients.open(kind, '/nope');
      let connected = false;
      socket.on('connect', () => (connected = true));
      const [err] = await within(5000, waitEvent(socket, 'error'), 'no error for an unknown namespace');
      assert.deepEqual(err, { message: 'Invalid namespace' });
      assert.equal(connected, false);
    });

    test('a middleware refuses /guarded: an error event with err.data, then lets the token in', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const refused = clients.open(kind, '/guarded', { query: { token: 'wrong' } });
      let connected = false;
      refused.on('connect', () => (connected = true));
      const [err] = await within(5000, waitEvent(refused, 'error'), 'no error from the middleware');
      // The reference sends a 2.x client `err.data || err.message`.
      assert.deepEqual(err, { code: 401 });
      assert.equal(connected, false);
      const { socket, auth } = await clients.connect(kind, '/guarded', { query: { token: 'secret' } });
      assert.deepEqual(await auth, [{ token: 'secret' }]);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'guarded'), ['guarded']);
    });

    test('the client pings and the server answers', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      // pingInterval 500 ms: two pongs within 3 s, and the connection stays up.
      const pongs = [];
      socket.on('pong', (latency) => pongs.push(latency));
      await within(3000, (async () => {
        while (pongs.length < 2) await sleep(50);
      })(), `two pongs (got ${pongs.length})`);
      assert.equal(socket.connected, true);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'alive'), ['alive']);
    });

    test('the client disconnects /custom and joins it again on the same connection', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket: root } = await clients.connect(kind);
      const { socket: custom } = await clients.another(kind, root, '/custom');
      const gone = waitEvent(custom, 'disconnect');
      custom.disconnect();
      assert.deepEqual(await gone, ['io client disconnect']);
      // Had the server not handled the `41/custom,`, a second CONNECT to /custom would be
      // "invalid state" and close the connection.
      const auth = waitEvent(custom, 'auth');
      custom.connect(); // the manager keeps the socket of /custom: it sends `40/custom,` again
      await clients.ready(kind, custom);
      assert.deepEqual(await within(5000, auth, 'no auth event after joining again'), [{}]);
      assert.deepEqual(await emitAck(root, 'message-with-ack', 'root still here'), ['root still here']);
    });

    for (const close of [false, true]) {
      test(`the server disconnects (close ${close}): "io server disconnect", no reconnection`, { timeout: TEST_TIMEOUT }, async (t) => {
        const clients = new Clients(t);
        const { socket: root } = await clients.connect(kind);
        const { socket: custom } = await clients.another(kind, root, '/custom');
        let reconnects = 0;
        root.io.on('reconnect_attempt', () => reconnects++);
        let customReason = null;
        custom.on('disconnect', (reason) => (customReason = reason));
        const rootGone = waitEvent(root, 'disconnect');
        root.emit('server-disconnect', close);
        assert.deepEqual(await within(5000, rootGone, 'no disconnect'), ['io server disconnect']);
        if (close) {
          await within(5000, (async () => {
            while (customReason === null) await sleep(20);
          })(), '/custom not disconnected by disconnect(true)');
          assert.equal(customReason, 'io server disconnect');
        } else {
          assert.deepEqual(await emitAck(custom, 'message-with-ack', 'still here'), ['still here']);
          assert.equal(customReason, null);
        }
        await sleep(500);
        assert.equal(reconnects, 0, 'no reconnection attempt');
        assert.equal(root.connected, false);
      });
    }
  });
}

describe('a 2.x client and a 4.x client on one server', () => {
  test('both connect, and a broadcast reaches both', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const { socket: old } = await clients.connect('default');
    const modern = ioV4(SERVER_URL, { path: '/socket.io/', forceNew: true, reconnection: false });
    t.after(() => modern.close());
    await within(5000, waitEvent(modern, 'connect'), 'the 4.x client did not connect');
    assert.notEqual(modern.id, modern.io.engine.id, 'the 4.x socket id is not the Engine.IO id');
    const toOld = waitEvent(old, 'broadcast-back');
    const toModern = waitEvent(modern, 'broadcast-back');
    modern.emit('broadcast', 'to everyone', Buffer.from([1, 2, 3]));
    const [oldArgs, modernArgs] = await within(5000, Promise.all([toOld, toModern]), 'the broadcast did not reach both');
    for (const [text, bytes] of [oldArgs, modernArgs]) {
      assert.equal(text, 'to everyone');
      assert.deepEqual([...Buffer.from(bytes)], [1, 2, 3]);
    }
    assert.deepEqual(await emitAck(old, 'message-with-ack', 'old'), ['old']);
    const fromModern = await within(5000, new Promise((resolve) => modern.emit('message-with-ack', 'new', (...answer) => resolve(answer))), 'no ack');
    assert.deepEqual(fromModern, ['new']);
  });
});
