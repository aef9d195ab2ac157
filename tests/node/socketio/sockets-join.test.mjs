// socket.io-client against the interop server: nsp.in(target).socketsJoin(room),
// socketsLeave(room) and nsp.in(room).disconnectSockets(true) (`sockets-join`,
// `sockets-leave`, `disconnect-sockets`; see reference/interop.mjs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, Recorder, emitAck, fetchSockets, sleep, waitEvent, within } from './helpers.mjs';

const sorted = (list) => [...list].sort();

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('socketsJoin / socketsLeave move the matching sockets', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, B, C] = (await Promise.all([clients.connect(kind), clients.connect(kind), clients.connect(kind)])).map(
        (c) => c.socket,
      );
      const rec = new Recorder(B, ['room-back']);
      // one socket, by its id
      assert.deepEqual(await emitAck(A, 'sockets-join', B.id, 'joined'), []);
      assert.deepEqual(await fetchSockets(A, 'joined'), [{ id: B.id, rooms: sorted([B.id, 'joined']), data: {} }]);
      C.emit('to-room', 'joined', 'to the room B was made to join');
      await rec.waitCount('room-back', 1);
      assert.deepEqual(rec.log['room-back'], [['to the room B was made to join']]);

      // every socket of a room: B and C in `first`, then both join `second`
      assert.deepEqual(await emitAck(C, 'join', 'first'), []);
      assert.deepEqual(await emitAck(A, 'sockets-join', B.id, 'first'), []);
      assert.deepEqual(await emitAck(A, 'sockets-join', 'first', 'second'), []);
      assert.deepEqual(
        (await fetchSockets(A, 'second')).map((s) => s.id),
        sorted([B.id, C.id]),
      );
      // a target nobody is in: nothing happens
      assert.deepEqual(await emitAck(A, 'sockets-join', 'nobody-here', 'third'), []);
      assert.deepEqual(await fetchSockets(A, 'third'), []);

      // leave: by room, then by id
      assert.deepEqual(await emitAck(A, 'sockets-leave', 'first', 'second'), []);
      assert.deepEqual(await fetchSockets(A, 'second'), []);
      assert.deepEqual(await emitAck(A, 'sockets-leave', B.id, 'joined'), []);
      assert.deepEqual(await fetchSockets(A, 'joined'), []);
      assert.deepEqual(
        (await fetchSockets(A)).find((s) => s.id === B.id).rooms,
        sorted([B.id, 'first']),
      );
    });

    test('disconnectSockets(true) closes the connections of a room only', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, B, C] = (await Promise.all([clients.connect(kind), clients.connect(kind), clients.connect(kind)])).map(
        (c) => c.socket,
      );
      assert.deepEqual(await emitAck(B, 'join', 'doomed'), []);
      assert.deepEqual(await emitAck(C, 'join', 'doomed'), []);
      const reasons = Promise.all([B, C].map((s) => waitEvent(s, 'disconnect')));
      let aDisconnected = false;
      A.on('disconnect', () => {
        aDisconnected = true;
      });
      // the ack comes first, then the disconnect
      assert.deepEqual(await emitAck(A, 'disconnect-sockets', 'doomed'), []);
      const got = await within(5000, reasons, 'B and C were not disconnected');
      assert.deepEqual(
        got.map(([reason]) => reason),
        ['io server disconnect', 'io server disconnect'],
      );
      // the whole connection is closed, and the client does not reconnect
      await sleep(300);
      assert.equal(B.connected, false);
      assert.equal(C.connected, false);
      assert.equal(B.io.engine.readyState, 'closed');
      assert.equal(aDisconnected, false);
      assert.deepEqual(await emitAck(A, 'message-with-ack', 'still here'), ['still here']);
      // a room nobody is in: nothing happens
      assert.deepEqual(await emitAck(A, 'disconnect-sockets', 'nobody-here'), []);
      assert.deepEqual(await emitAck(A, 'message-with-ack', 'still here'), ['still here']);
    });
  });
}
