// socket.io-client against the interop server: connecting to namespaces with
// auth, refused namespaces, transports, multiplexing, heartbeats.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { Clients, SERVER_URL, BASE_OPTS, KINDS, TEST_TIMEOUT, emitAck, sleep, waitEvent, within } from './helpers.mjs';

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('connect to / with auth: server emits `auth` with it', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/', { auth: { token: 'abc' } });
      assert.deepEqual(await auth, [{ token: 'abc' }]);
      assert.equal(socket.connected, true);
      assert.equal(typeof socket.id, 'string');
      assert.ok(socket.id.length > 0);
      assert.notEqual(socket.id, socket.io.engine.id, 'the socket.io id is not the engine.io id');
    });

    test('connect to /custom with auth: server emits `auth` with it', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/custom', { auth: { token: 'abc', n: 1, nested: { ok: true } } });
      assert.deepEqual(await auth, [{ token: 'abc', n: 1, nested: { ok: true } }]);
      assert.equal(socket.connected, true);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'in /custom'), ['in /custom']);
    });

    test('connect without auth: `auth` is an empty object', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { auth } = await clients.connect(kind, '/');
      assert.deepEqual(await auth, [{}]);
    });

    test('unknown namespace: connect_error "Invalid namespace"', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
          const socket = io(`${SERVER_URL}/nope`, { ...BASE_OPTS, ...KINDS[kind] });
      clients.own(socket);
      let connected = false;
      socket.on('connect', () => (connected = true));
      const [err] = await within(5000, waitEvent(socket, 'connect_error'), 'no connect_error for an unknown namespace');
      assert.ok(err instanceof Error);
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(connected, false);
      assert.equal(socket.connected, false);
      assert.equal(socket.active, false, 'a refused namespace is not retried');
      await sleep(500);
      assert.equal(connected, false);
    });

    test('middleware on /guarded: refused with message and data, then let in', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const refused = io(`${SERVER_URL}/guarded`, { ...BASE_OPTS, ...KINDS[kind], auth: { token: 'wrong' } });
      clients.own(refused);
      const [err] = await within(5000, waitEvent(refused, 'connect_error'), 'no connect_error from the middleware');
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { code: 401 });
      assert.equal(refused.connected, false);
      const { socket, auth } = await clients.connect(kind, '/guarded', { auth: { token: 'secret' } });
      assert.deepEqual(await auth, [{ token: 'secret' }]);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'guarded'), ['guarded']);
    });

    test('/ and /custom multiplexed on one engine.io connection', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const manager = clients.manager(kind);
      const root = await clients.socketOn(kind, manager, '/', { auth: { token: 'root' } });
      const custom = await clients.socketOn(kind, manager, '/custom', { auth: { token: 'custom' } });
      assert.deepEqual(await root.auth, [{ token: 'root' }]);
      assert.deepEqual(await custom.auth, [{ token: 'custom' }]);
      assert.notEqual(root.socket.id, custom.socket.id);
      assert.deepEqual(await emitAck(root.socket, 'message-with-ack', 'r'), ['r']);
      assert.deepEqual(await emitAck(custom.socket, 'message-with-ack', 'c'), ['c']);
      // an unknown namespace on the same connection is refused without harming the others
      const bad = manager.socket('/nope');
      const [err] = await within(5000, waitEvent(bad, 'connect_error'), 'no connect_error for an unknown namespace');
      assert.equal(err.message, 'Invalid namespace');
      assert.deepEqual(await emitAck(root.socket, 'message-with-ack', 'still'), ['still']);
    });

    test('transport in use', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind);
      const expected = kind === 'polling' ? 'polling' : 'websocket';
      assert.equal(socket.io.engine.transport.name, expected);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'on ' + expected), ['on ' + expected]);
    });

    test('stays connected across several heartbeats', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, handshake } = await clients.connect(kind);
      const h = (await handshake) ?? { pingInterval: socket.io.engine._pingInterval };
      assert.ok(h.pingInterval <= 2000, `server pingInterval ${h.pingInterval} ms > 2000 ms: start it with --ping-interval 500`);
      let pings = 0;
      socket.io.on('ping', () => pings++);
      let disconnected = null;
      socket.on('disconnect', (reason) => (disconnected = reason));
      await sleep(h.pingInterval * 3 + 300);
      assert.equal(disconnected, null, `disconnected during heartbeats: ${disconnected}`);
      assert.ok(pings >= 2, `expected at least 2 pings, got ${pings}`);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'alive'), ['alive']);
    });
  });
}

describe('socket.io default transport', () => {
  test('starts on polling, then upgrades to websocket', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const socket = io(SERVER_URL, { ...BASE_OPTS });
    clients.own(socket);
    const engine = socket.io.engine;
    const first = await new Promise((resolve) => engine.once('open', () => resolve(engine.transport.name)));
    assert.equal(first, 'polling');
    const [transport] = await waitEvent(engine, 'upgrade');
    assert.equal(transport.name, 'websocket');
    assert.equal(socket.io.engine.transport.name, 'websocket');
    if (!socket.connected) await waitEvent(socket, 'connect');
    assert.deepEqual(await emitAck(socket, 'message-with-ack', 'upgraded'), ['upgraded']);
  });
});
