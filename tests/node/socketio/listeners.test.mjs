// socket.io-client against the interop server's `/listeners` namespace: the
// socket's catch-all listeners (prependAny / onAny / offAny, onAnyOutgoing), a
// `socket.use` middleware that refuses `forbidden`, `disconnecting` before
// `disconnect`, and `socket.conn` (see reference/interop.mjs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, Recorder, emitAck, normalize, sleep, within } from './helpers.mjs';

/** Every event `socket` receives, in order, as [event, ...args]. */
function recordAll(socket) {
  const log = [];
  socket.onAny((event, ...args) => log.push([event, ...normalize(args)]));
  return log;
}

/** A round trip: everything the server sent before its answer has arrived. */
const sync = (socket) => emitAck(socket, 'message-with-ack', 'sync');

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('prependAny and onAny hear each event before its handler; offAny removes one listener', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/listeners');
      await auth;
      const log = recordAll(socket);
      socket.emit('hello', 1, { a: [true] });
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'x'), ['x']);
      assert.deepEqual(await emitAck(socket, 'off-any'), [1], 'the prepended listener is left');
      socket.emit('hello', 2);
      await sync(socket);
      assert.deepEqual(log, [
        ['any-first', 'hello'],
        ['any-back', 'hello', 1, { a: [true] }],
        ['any-first', 'message-with-ack'],
        ['any-back', 'message-with-ack', 'x'],
        ['any-first', 'off-any'],
        ['any-back', 'off-any'],
        ['any-first', 'hello'],
        ['any-first', 'message-with-ack'],
      ]);
    });

    test('socket.use refuses `forbidden`: the error listeners get it, the handler never runs', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/listeners');
      await auth;
      const log = recordAll(socket);
      socket.emit('forbidden', 'x');
      await within(5000, (async () => { while (!log.some(([e]) => e === 'use-error')) await sleep(10); })(), 'no use-error');
      await sync(socket);
      assert.deepEqual(log.slice(0, 3), [
        ['any-first', 'forbidden'],
        ['any-back', 'forbidden', 'x'],
        ['use-error', { message: 'forbidden' }],
      ]);
      assert.ok(!log.some(([e]) => e === 'forbidden-handled'), JSON.stringify(log));
      assert.equal(socket.connected, true, 'a refused event does not disconnect');
    });

    test('onAnyOutgoing hears emits and broadcasts to this socket', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/listeners');
      await auth;
      const rec = new Recorder(socket, ['room-back']);
      const room = `o-${process.pid}-${kind}`;
      await emitAck(socket, 'join', room);
      socket.emit('nsp-to-room', room, 'via a broadcast');
      await rec.waitCount('room-back', 1);
      const [outgoing] = await emitAck(socket, 'outgoing-log');
      assert.deepEqual(outgoing, [
        'auth',
        'any-first', 'any-back', // join
        'any-first', 'any-back', // nsp-to-room
        'room-back', // the broadcast
        'any-first', 'any-back', // outgoing-log
      ]);
    });

    test('disconnecting comes before disconnect and still sees the rooms', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, W] = (await Promise.all([clients.connect(kind, '/listeners'), clients.connect(kind, '/listeners')])).map((c) => c.socket);
      await emitAck(W, 'join', 'watchers');
      await emitAck(A, 'join', 'r1');
      const log = recordAll(W);
      const id = A.id;
      A.disconnect();
      const about = () => log.filter(([event, who]) => event.startsWith('peer-') && who === id);
      await within(5000, (async () => { while (about().length < 2) await sleep(10); })(), () => `saw ${JSON.stringify(about())}`);
      assert.deepEqual(about(), [
        ['peer-disconnecting', id, [id, 'r1'].sort(), 'client namespace disconnect'],
        ['peer-disconnect', id, [], 'client namespace disconnect'],
      ]);
    });

    test('socket.conn is the Engine.IO session: its id, transport and `upgrade` event', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind, '/listeners');
      const [conn] = await emitAck(socket, 'conn');
      assert.deepEqual(conn, {
        id: socket.io.engine.id,
        transport: kind === 'polling' ? 'polling' : 'websocket',
        // heard by the `connection` handler's listener: only the default client upgrades
        upgrades: kind === 'default' ? ['websocket'] : [],
      });
      assert.equal(conn.transport, socket.io.engine.transport.name);
    });
  });
}
