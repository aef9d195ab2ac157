// socket.io-client against the interop server with connection state recovery on (run.mjs
// starts this suite's server with --recover --max-disconnection 2000, ours or the reference):
// the transport goes away under a connected client while the server emits to it directly
// (`tick`, to io.to(socket.id)) and to a room it is in (`room-tick`, to `r`); the client comes
// back with its pid and offset and must find its socket (same id, rooms, data) and every event
// once, in order.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import {
  BASE_OPTS,
  Clients,
  KINDS,
  SERVER_URL,
  TEST_TIMEOUT,
  emitAck,
  fetchSockets,
  sleep,
  waitEvent,
  within,
} from '../helpers.mjs';

/** run.mjs's --max-disconnection for this suite. */
const MAX_DISCONNECTION = 2000;

const range = (count, step = 1) => Array.from({ length: Math.ceil(count / step) }, (_, k) => k * step);

/**
 * Records `tick` and `room-tick`: each event's number and its offset (the last argument, a
 * string: recovery appends it), and waits for counts.
 */
class Ticks {
  constructor(socket) {
    this.tick = [];
    this.roomTick = [];
    this.waiters = [];
    const record = (list) => (i, offset, ...rest) => {
      assert.equal(typeof offset, 'string', 'each event carries its offset last');
      assert.deepEqual(rest, []);
      list.push(i);
      for (const waiter of this.waiters.splice(0)) waiter();
    };
    socket.on('tick', record(this.tick));
    socket.on('room-tick', record(this.roomTick));
  }

  async waitFor(ticks, roomTicks = 0) {
    const reached = (async () => {
      while (this.tick.length < ticks || this.roomTick.length < roomTicks) {
        await new Promise((resolve) => this.waiters.push(resolve));
      }
    })();
    await within(8000, reached, () => `ticks ${JSON.stringify(this.tick)}, room-ticks ${JSON.stringify(this.roomTick)}`);
  }

  /** Every tick 0..count-1 and every third as room-tick, each once, in order. */
  async expectAll(count) {
    await this.waitFor(count, Math.ceil(count / 3));
    assert.deepEqual(this.tick, range(count));
    assert.deepEqual(this.roomTick, range(count, 3));
  }
}

/** Connects, sets `data`, starts the ticks, and waits for the first few. */
async function connectWithTicks(clients, kind, nsp, count, everyMs, opts = {}) {
  const { socket } = await clients.connect(kind, nsp, opts);
  assert.equal(socket.recovered, false);
  await emitAck(socket, 'set-data', { answer: 42 });
  const ticks = new Ticks(socket);
  await emitAck(socket, 'ticks', count, everyMs);
  await ticks.waitFor(3);
  return { socket, ticks };
}

/** The socket came back: same id, recovered, its rooms and data. */
async function expectRecovered(socket, id) {
  assert.equal(socket.recovered, true, 'socket.recovered');
  assert.equal(socket.id, id, 'the same socket id');
  const [found] = await fetchSockets(socket, id);
  assert.deepEqual(found, { id, rooms: [id, 'r'].sort(), data: { answer: 42 } });
}

for (const kind of Object.keys(KINDS)) {
  describe(`connection state recovery, ${kind}`, () => {
    test('the server closes the transport (socket.conn.close()): the same socket, every tick once in order', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, ticks } = await connectWithTicks(clients, kind, '/', 30, 20);
      const id = socket.id;
      const reasons = [];
      socket.on('disconnect', (reason) => reasons.push(reason));
      const back = waitEvent(socket, 'connect');
      socket.emit('close-conn');
      await within(5000, back, 'no reconnection');
      assert.deepEqual(reasons, ['transport close']);
      await expectRecovered(socket, id);
      await ticks.expectAll(30);
    });

    if (kind !== 'polling') {
      test('the TCP connection is destroyed under the WebSocket: the same socket, every tick once in order', { timeout: TEST_TIMEOUT }, async (t) => {
        const clients = new Clients(t);
        const { socket, ticks } = await connectWithTicks(clients, kind, '/', 30, 20);
        const id = socket.id;
        const back = waitEvent(socket, 'connect');
        // No close frame: the server's reader sees the connection end.
        socket.io.engine.transport.ws._socket.destroy();
        await within(5000, back, 'no reconnection');
        await expectRecovered(socket, id);
        await ticks.expectAll(30);
      });
    }
  });
}

for (const kind of ['websocket', 'polling']) {
  test(`${kind}: the connection dies silently, the server notices at the ping timeout, the client comes back`, { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    // A watcher of /listeners hears `peer-disconnect` (id, rooms, reason) of the others.
    const watcher = (await clients.connect('websocket', '/listeners')).socket;
    await emitAck(watcher, 'join', 'watchers');
    const socket = clients.own(io(SERVER_URL + '/listeners', { ...BASE_OPTS, ...KINDS[kind] }));
    // The client must not give up first: its own ping timeout becomes a minute long.
    socket.io.engine.once('handshake', (handshake) => {
      handshake.pingTimeout = 60_000;
    });
    await clients._ready(kind, socket, socket.io);
    await emitAck(socket, 'set-data', { answer: 42 });
    const ticks = new Ticks(socket);
    await emitAck(socket, 'ticks', 40, 75);
    await ticks.waitFor(2);
    const id = socket.id;
    const gone = new Promise((resolve) => {
      watcher.on('peer-disconnect', (peer, rooms, reason) => {
        if (peer === id) resolve(reason);
      });
    });
    // Silence: the client reads nothing more and sends nothing (no pong).
    const engine = socket.io.engine;
    if (kind === 'websocket') engine.transport.ws._socket.pause();
    else engine.transport.pause(() => {});
    assert.equal(await within(8000, gone, 'the server never noticed'), 'ping timeout');
    const back = waitEvent(socket, 'connect');
    if (kind === 'websocket') engine.transport.ws._socket.destroy();
    else engine.close();
    await within(5000, back, 'no reconnection');
    assert.equal(socket.recovered, true, 'socket.recovered');
    assert.equal(socket.id, id);
    const [found] = await fetchSockets(socket, id);
    assert.deepEqual(found, { id, rooms: [id, 'r'].sort(), data: { answer: 42 } });
    await ticks.expectAll(40);
  });
}

test(`after maxDisconnectionDuration (${MAX_DISCONNECTION} ms) the client gets a new socket`, { timeout: TEST_TIMEOUT }, async (t) => {
  const clients = new Clients(t);
  const { socket } = await clients.connect('websocket', '/');
  await emitAck(socket, 'set-data', { answer: 42 });
  const ticks = new Ticks(socket);
  await emitAck(socket, 'ticks', 1, 10);
  await ticks.waitFor(1); // the client has an offset
  const id = socket.id;
  socket.io.reconnection(false);
  const gone = waitEvent(socket, 'disconnect');
  socket.emit('close-conn');
  assert.equal((await within(5000, gone, 'no disconnect'))[0], 'transport close');
  await sleep(MAX_DISCONNECTION + 500);
  const back = waitEvent(socket, 'connect');
  clients.reconnect(socket);
  await within(5000, back, 'no reconnection');
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.id, id);
  const [found] = await fetchSockets(socket, socket.id);
  assert.deepEqual(found, { id: socket.id, rooms: [socket.id], data: {} });
});

test('a client that disconnects on purpose does not come back to its socket', { timeout: TEST_TIMEOUT }, async (t) => {
  const clients = new Clients(t);
  const { socket } = await clients.connect('websocket', '/');
  const ticks = new Ticks(socket);
  await emitAck(socket, 'ticks', 1, 10);
  await ticks.waitFor(1);
  const id = socket.id;
  socket.disconnect(); // `41`: "client namespace disconnect", no session kept
  const back = waitEvent(socket, 'connect');
  clients.reconnect(socket);
  await within(5000, back, 'no reconnection');
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.id, id);
});
