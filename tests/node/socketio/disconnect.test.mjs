// socket.io-client against the interop server: server-side disconnects
// (`server-disconnect` hook) as seen by the client.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, emitAck, sleep, waitEvent, within } from './helpers.mjs';

/** Long enough for several reconnection attempts with BASE_OPTS' 100-200 ms delays. */
const NO_RECONNECT_WAIT = 1000;

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    for (const close of [false, true]) {
      test(`server disconnect(${close}): client sees "io server disconnect" and does not reconnect`, { timeout: TEST_TIMEOUT }, async (t) => {
        const clients = new Clients(t);
        const { socket } = await clients.connect(kind);
        assert.deepEqual(await emitAck(socket, 'message-with-ack', 'hi'), ['hi']);
        let reconnectAttempts = 0;
        let connects = 0;
        socket.io.on('reconnect_attempt', () => reconnectAttempts++);
        socket.on('connect', () => connects++);
        const disconnected = waitEvent(socket, 'disconnect');
        socket.emit('server-disconnect', close);
        const [reason] = await within(5000, disconnected, 'no disconnect after `server-disconnect`');
        assert.equal(reason, 'io server disconnect');
        assert.equal(socket.connected, false);
        assert.equal(socket.active, false, 'after "io server disconnect" the client does not reconnect by itself');
        await sleep(NO_RECONNECT_WAIT);
        assert.equal(reconnectAttempts, 0, 'no reconnection attempt');
        assert.equal(connects, 0, 'no reconnection');
        assert.equal(socket.connected, false);
        // the client is still usable: an explicit connect() works
        const reconnected = waitEvent(socket, 'connect');
        clients.reconnect(socket);
        await within(5000, reconnected, 'explicit connect() after the server disconnect');
        assert.deepEqual(await emitAck(socket, 'message-with-ack', 'again'), ['again']);
      });
    }

    test('server disconnect(true) closes every namespace of the connection', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const manager = clients.manager(kind);
      const root = (await clients.socketOn(kind, manager, '/')).socket;
      const custom = (await clients.socketOn(kind, manager, '/custom')).socket;
      const rootGone = waitEvent(root, 'disconnect');
      const customGone = waitEvent(custom, 'disconnect');
      root.emit('server-disconnect', true);
      assert.equal((await within(5000, rootGone, '/ not disconnected'))[0], 'io server disconnect');
      assert.equal((await within(5000, customGone, '/custom not disconnected by disconnect(true)'))[0], 'io server disconnect');
      assert.equal(root.active, false);
      assert.equal(custom.active, false);
    });

    test('server disconnect(false) closes only that namespace', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const manager = clients.manager(kind);
      const root = (await clients.socketOn(kind, manager, '/')).socket;
      const custom = (await clients.socketOn(kind, manager, '/custom')).socket;
      let customDisconnected = null;
      custom.on('disconnect', (reason) => (customDisconnected = reason));
      const rootGone = waitEvent(root, 'disconnect');
      root.emit('server-disconnect', false);
      assert.equal((await within(5000, rootGone, '/ not disconnected'))[0], 'io server disconnect');
      assert.deepEqual(await emitAck(custom, 'message-with-ack', 'still here'), ['still here']);
      assert.equal(customDisconnected, null);
      assert.equal(custom.connected, true);
    });
  });
}
