// socket.io-client against the interop server: socket.data, nsp.fetchSockets() and
// nsp.in(room).fetchSockets() (`set-data`, `fetch-sockets`; see reference/interop.mjs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, emitAck, fetchSockets, waitForExactly } from './helpers.mjs';

const sorted = (list) => [...list].sort();

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('fetchSockets: id, rooms and data of every socket, or of a room', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, B, C] = (await Promise.all([clients.connect(kind), clients.connect(kind), clients.connect(kind)])).map(
        (c) => c.socket,
      );
      const [D] = [(await clients.connect(kind, '/custom')).socket];
      const all = await waitForExactly(A, [A.id, B.id, C.id]);
      // socket.data starts as {}; rooms: its own id
      assert.deepEqual(
        all,
        sorted([A.id, B.id, C.id]).map((id) => ({ id, rooms: [id], data: {} })),
      );

      assert.deepEqual(await emitAck(A, 'set-data', { name: 'A', tags: [1, 'two'], nested: { ok: true } }), []);
      assert.deepEqual(await emitAck(B, 'set-data', 'just a string'), []);
      assert.deepEqual(await emitAck(A, 'join', 'fetch-room'), []);
      assert.deepEqual(await emitAck(C, 'join', 'fetch-room'), []);

      assert.deepEqual(
        await fetchSockets(B, 'fetch-room'),
        [
          { id: A.id, rooms: sorted([A.id, 'fetch-room']), data: { name: 'A', tags: [1, 'two'], nested: { ok: true } } },
          { id: C.id, rooms: sorted([C.id, 'fetch-room']), data: {} },
        ].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      const everyone = await fetchSockets(C);
      assert.deepEqual(
        everyone.find((s) => s.id === B.id),
        { id: B.id, rooms: [B.id], data: 'just a string' },
      );
      // a room nobody is in: nothing, at once
      assert.deepEqual(await fetchSockets(A, 'nobody-here'), []);
      // another namespace: its own sockets only
      assert.deepEqual(await fetchSockets(D), [{ id: D.id, rooms: [D.id], data: {} }]);
    });
  });
}
