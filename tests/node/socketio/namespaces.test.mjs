// socket.io-client against the interop server: dynamic namespaces. A regular
// expression (/^\/dynamic-\d+$/) and a function (`/fn-...` unless auth is
// {deny: true}) make parent namespaces; a CONNECT to a name they accept makes a
// child with the parent's handlers, and a broadcast on the parent reaches every
// child. The server's `new_namespace` event is reported by `new-namespaces`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { Clients, SERVER_URL, BASE_OPTS, KINDS, TEST_TIMEOUT, Recorder, emitAck, sleep, waitEvent, within } from './helpers.mjs';

/** A number no other test uses, for a fresh child namespace. */
let counter = 0;
const fresh = () => `${process.pid}${Date.now() % 100000}${counter++}`;

/** Connects to `nsp`; resolves with the connect_error's message (the client must not connect). */
async function refused(clients, kind, nsp, opts = {}) {
  const socket = clients.own(io(`${SERVER_URL}${nsp}`, { ...BASE_OPTS, ...KINDS[kind], ...opts }));
  let connected = false;
  socket.on('connect', () => (connected = true));
  const [err] = await within(5000, waitEvent(socket, 'connect_error'), `no connect_error for ${nsp}`);
  assert.equal(connected, false);
  assert.equal(socket.active, false, 'a refused namespace is not retried');
  return err.message;
}

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('a regex parent: /dynamic-<n> is made on CONNECT with the parent handlers; /dynamic-x is refused', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const name = `/dynamic-${fresh()}`;
      const { socket, auth } = await clients.connect(kind, name, { auth: { token: 'dyn' } });
      assert.equal(socket.nsp, name);
      assert.deepEqual(await auth, [{ token: 'dyn' }]);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'in', { child: 1 }), ['in', { child: 1 }]);
      const rec = new Recorder(socket, ['message-back']);
      socket.emit('message', 'echo', 2);
      await rec.waitCount('message-back', 1);
      assert.deepEqual(rec.log['message-back'], [['echo', 2]]);

      assert.equal(await refused(clients, kind, '/dynamic-x'), 'Invalid namespace');
      assert.equal(await refused(clients, kind, `${name}/more`), 'Invalid namespace');
    });

    test('a function parent: /fn-<name> connects unless auth says deny', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const name = `/fn-${fresh()}`;
      assert.equal(await refused(clients, kind, `/fn-denied-${fresh()}`, { auth: { deny: true } }), 'Invalid namespace');
      const { socket, auth } = await clients.connect(kind, name, { auth: { deny: false } });
      assert.equal(socket.nsp, name);
      assert.deepEqual(await auth, [{ deny: false }]);
      assert.deepEqual(await emitAck(socket, 'message-with-ack', 'fn'), ['fn']);
      // once made, the child is found by name: the function is not asked again
      const again = await clients.connect(kind, name, { auth: { deny: true } });
      assert.deepEqual(await again.auth, [{ deny: true }]);
    });

    test('a broadcast on the parent reaches every child, and no other namespace', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, B, C, D] = (
        await Promise.all([
          clients.connect(kind, `/dynamic-${fresh()}`),
          clients.connect(kind, `/dynamic-${fresh()}`),
          clients.connect(kind, `/dynamic-${fresh()}`),
          clients.connect(kind, '/'),
        ])
      ).map((c) => c.socket);
      const EVENTS = ['broadcast-back', 'room-back'];
      const rec = new Map([A, B, C, D].map((s) => [s, new Recorder(s, EVENTS)]));
      const room = `r-${fresh()}`;
      for (const s of [A, B]) await emitAck(s, 'join', room);

      // parent.emit: every child
      A.emit('broadcast', 'to every child');
      for (const s of [A, B, C]) await rec.get(s).waitCount('broadcast-back', 1);
      // parent.to(room): the room's members in every child, the sender included
      C.emit('nsp-to-room', room, 'to the room');
      for (const s of [A, B]) await rec.get(s).waitCount('room-back', 1);
      // parent.except(room): every child's sockets outside the room
      A.emit('except-room', room, 'outside the room');
      await rec.get(C).waitCount('room-back', 1);

      await Promise.all([A, B, C, D].map((s) => emitAck(s, 'message-with-ack', 'sync')));
      await sleep(200);
      assert.deepEqual(rec.get(A).log, { 'broadcast-back': [['to every child']], 'room-back': [['to the room']] });
      assert.deepEqual(rec.get(B).log, { 'broadcast-back': [['to every child']], 'room-back': [['to the room']] });
      assert.deepEqual(rec.get(C).log, { 'broadcast-back': [['to every child']], 'room-back': [['outside the room']] });
      assert.deepEqual(rec.get(D).log, { 'broadcast-back': [], 'room-back': [] });
    });

    test('new_namespace: once for each namespace, static ones included', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const name = `/dynamic-${fresh()}`;
      const first = await clients.connect(kind, name);
      const second = await clients.connect(kind, name);
      assert.notEqual(first.socket.id, second.socket.id);
      const { socket } = await clients.connect(kind, '/');
      const [names] = await emitAck(socket, 'new-namespaces');
      assert.deepEqual(names.slice(0, 3), ['/custom', '/guarded', '/listeners']);
      assert.equal(names.filter((n) => n === name).length, 1, `${name} in ${JSON.stringify(names)}`);
      assert.ok(!names.includes('/'), 'no event for /');
      assert.ok(!names.includes('/dynamic-x'), 'none for a refused name');
    });
  });
}
