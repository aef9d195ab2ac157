// socket.io-client against the interop server: rooms (`to` / `except`) and
// namespace broadcast, with three clients in `/` and one in `/custom`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, KINDS, TEST_TIMEOUT, Recorder, emitAck, pattern, sleep } from './helpers.mjs';

const EVENTS = ['room-back', 'broadcast-back'];

for (const kind of Object.keys(KINDS)) {
  describe(`socket.io ${kind}`, () => {
    test('rooms: to(room) / except(room) / broadcast reach exactly the right clients', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      // A and B in room r1 of `/`, C in no room; D in room r1 of `/custom`
      const [A, B, C, D] = (
        await Promise.all([
          clients.connect(kind, '/'),
          clients.connect(kind, '/'),
          clients.connect(kind, '/'),
          clients.connect(kind, '/custom'),
        ])
      ).map((c) => c.socket);
      const rec = new Map([A, B, C, D].map((s) => [s, new Recorder(s, EVENTS)]));
      for (const s of [A, B, D]) assert.deepEqual(await emitAck(s, 'join', 'r1'), []);

      // to(room) from a non-member: every member
      C.emit('to-room', 'r1', 'from C', 1);
      await rec.get(A).waitCount('room-back', 1);
      await rec.get(B).waitCount('room-back', 1);
      // to(room) from a member: the other members, not the sender
      A.emit('to-room', 'r1', 'from A', { x: [1] });
      await rec.get(B).waitCount('room-back', 2);
      // except(room) from a member: everyone outside the room
      A.emit('except-room', 'r1', 'except, sent by A');
      await rec.get(C).waitCount('room-back', 1);
      // except(room) from a non-member: everyone outside the room, sender included
      C.emit('except-room', 'r1', 'except, sent by C');
      await rec.get(C).waitCount('room-back', 2);
      // broadcast: every socket of the namespace, sender included, binary too
      const buf = pattern(50, 3);
      B.emit('broadcast', 'to all', buf);
      for (const s of [A, B, C]) await rec.get(s).waitCount('broadcast-back', 1);
      // a broadcast in /custom reaches /custom only
      D.emit('broadcast', 'custom only');
      await rec.get(D).waitCount('broadcast-back', 1);

      // settle: a round trip on every client (anything sent to it before is
      // delivered before the ack), plus a short grace period
      await Promise.all([A, B, C, D].map((s) => emitAck(s, 'message-with-ack', 'sync')));
      await sleep(200);

      const log = (s) => rec.get(s).log;
      assert.deepEqual(log(A), { 'room-back': [['from C', 1]], 'broadcast-back': [['to all', buf]] });
      assert.deepEqual(log(B), {
        'room-back': [['from C', 1], ['from A', { x: [1] }]],
        'broadcast-back': [['to all', buf]],
      });
      assert.deepEqual(log(C), {
        'room-back': [['except, sent by A'], ['except, sent by C']],
        'broadcast-back': [['to all', buf]],
      });
      assert.deepEqual(log(D), { 'room-back': [], 'broadcast-back': [['custom only']] });
    });

    test('a disconnected client leaves its rooms', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [A, B, C] = (await Promise.all([clients.connect(kind), clients.connect(kind), clients.connect(kind)])).map((c) => c.socket);
      const rec = new Map([A, B, C].map((s) => [s, new Recorder(s, EVENTS)]));
      for (const s of [A, B]) await emitAck(s, 'join', 'r2');
      B.disconnect();
      await sleep(200);
      C.emit('to-room', 'r2', 'after B left');
      await rec.get(A).waitCount('room-back', 1);
      C.emit('broadcast', 'all');
      await rec.get(A).waitCount('broadcast-back', 1);
      await rec.get(C).waitCount('broadcast-back', 1);
      await Promise.all([A, C].map((s) => emitAck(s, 'message-with-ack', 'sync')));
      await sleep(200);
      assert.deepEqual(rec.get(A).log, { 'room-back': [['after B left']], 'broadcast-back': [['all']] });
      assert.deepEqual(rec.get(B).log, { 'room-back': [], 'broadcast-back': [] });
      assert.deepEqual(rec.get(C).log, { 'room-back': [], 'broadcast-back': [['all']] });
    });
  });
}
