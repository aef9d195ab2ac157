// Two Socket.IO servers on one Redis, official clients on both: every operator across the
// cluster (issue 10). The same script runs on any pair: ours beside a Node one (a mixed
// cluster), two of ours, two Node ones; with the classic adapter or the sharded one.
//
// Environment (tests/redis_cluster.rs sets it):
//   SERVER_A, SERVER_B         http://127.0.0.1:PORT of each server (examples/interop or
//                              tests/node/reference/interop.mjs, both with --redis)
//   SERVER_A_ID, SERVER_B_ID   their --server-id
//   REDIS_URL                  the Redis they share
//   ADAPTER                    classic | sharded (the emitter tests need classic)
//   SUBSCRIPTION_MODE          the sharded adapter's: static | dynamic (default) | dynamic-private
//
// Each server has the interop handlers (examples/interop.rs, reference/interop.mjs):
// `broadcast`, `join`, `to-room`, `except-room`, `set-data`, `fetch-sockets`, `sockets-join`,
// `sockets-leave`, `disconnect-sockets`, `server-side-emit`, `server-side-emit-with-ack`,
// `broadcast-with-ack`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';

const A = process.env.SERVER_A;
const B = process.env.SERVER_B;
const A_ID = process.env.SERVER_A_ID;
const B_ID = process.env.SERVER_B_ID;
const ADAPTER = process.env.ADAPTER ?? 'classic';
const SUBSCRIPTION_MODE = process.env.SUBSCRIPTION_MODE ?? 'dynamic';
assert.ok(A && B && A_ID && B_ID, 'SERVER_A, SERVER_B, SERVER_A_ID, SERVER_B_ID are needed');

const WAIT_MS = 5000;
const clients = [];

/** A connected official client of `server` on namespace `nsp`. */
async function connect(server, nsp = '/', transports = ['websocket']) {
  const client = io(server + nsp, { transports, forceNew: true, reconnection: false });
  clients.push(client);
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  return client;
}

/** The arguments of the next `event` on `client` (fails after WAIT_MS). */
function next(client, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} on ${client.id} within ${WAIT_MS} ms`)), WAIT_MS);
    client.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** `client.emit(event, ...args)` with an ack, its answer (fails after WAIT_MS). */
function ask(client, event, ...args) {
  return client.timeout(WAIT_MS).emitWithAck(event, ...args);
}

/**
 * The ids `fetch-sockets(room)` lists, asked of `asker` until they are `expected` (a join or a
 * leave by another server is applied when its message arrives; the reference applies even its
 * own `socketsJoin` only then).
 */
async function eventuallyListed(asker, room, expected) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const ids = (await ask(asker, 'fetch-sockets', room)).map((s) => s.id);
    if (JSON.stringify(ids) === JSON.stringify(expected) || Date.now() > deadline) {
      assert.deepEqual(ids, expected, `fetch-sockets(${room}) on ${asker.id}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * With the sharded adapter (the "dynamic" subscription modes), a server subscribes to a room's own
 * channel when the room appears on it, without waiting for Redis: a broadcast to that room
 * right after the join could pass it by (in the reference too). Waits until `servers` servers
 * subscribe to the room's channel (PUBSUB SHARDNUMSUB).
 */
async function roomSubscribed(room, servers) {
  if (ADAPTER !== 'sharded' || SUBSCRIPTION_MODE === 'static') return;
  const redis = createClient({ url: process.env.REDIS_URL });
  await redis.connect();
  try {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [, count] = await redis.sendCommand(['PUBSUB', 'SHARDNUMSUB', `socket.io#/#${room}#`]);
      if (count === servers) return;
      assert.ok(Date.now() < deadline, `${room}: ${count} subscribers, not ${servers}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await redis.quit();
  }
}

/**
 * Records every `event` each client gets, until a sentinel: `trigger()` sends what is tested,
 * then `sentinel()` sends a last broadcast that reaches every client in `all`; since Redis keeps
 * one publisher's messages in order, a client that has the sentinel has had everything before.
 * Returns, per client, the list of arguments it got (the sentinel left out).
 */
async function record(all, event, trigger, sentinel) {
  const got = new Map(all.map((client) => [client, []]));
  const listeners = [];
  const done = all.map(
    (client) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${client.id} missed the sentinel`)), WAIT_MS);
        const listener = (...args) => {
          // `hello-back` puts the server's id first.
          if (args[0] === 'sentinel' || args[1] === 'sentinel') {
            clearTimeout(timer);
            resolve();
          } else {
            got.get(client).push(args);
          }
        };
        listeners.push([client, listener]);
        client.on(event, listener);
      }),
  );
  await trigger();
  await sentinel();
  await Promise.all(done);
  for (const [client, listener] of listeners) client.off(event, listener);
  return all.map((client) => got.get(client));
}

let a1, a2, b1, b2, customA, customB;

before(async () => {
  // One client of each server over polling (upgraded), the others WebSocket only.
  a1 = await connect(A, '/', ['polling', 'websocket']);
  a2 = await connect(A);
  b1 = await connect(B, '/', ['polling', 'websocket']);
  b2 = await connect(B);
  customA = await connect(A, '/custom');
  customB = await connect(B, '/custom');
  for (const client of [a1, a2, b1, b2, customA, customB]) {
    client.on('ask', (arg, cb) => cb(`${client.id}:${arg}`));
  }
});

after(() => {
  for (const client of clients) client.disconnect();
});

test('a broadcast from a client of either server reaches every client of both exactly once', async () => {
  const everyone = [a1, a2, b1, b2];
  for (const [sender, label] of [
    [a1, 'from A'],
    [b2, 'from B'],
  ]) {
    const got = await record(
      everyone,
      'broadcast-back',
      () => sender.emit('broadcast', label, 1.5, { nested: [true, null] }),
      () => sender.emit('broadcast', 'sentinel'),
    );
    for (const list of got) assert.deepEqual(list, [[label, 1.5, { nested: [true, null] }]]);
  }
});

test('namespaces are kept apart', async () => {
  const got = await record(
    [a1, b1, customA, customB],
    'broadcast-back',
    () => customA.emit('broadcast', 'custom only'),
    async () => {
      customA.emit('broadcast', 'sentinel');
      a1.emit('broadcast', 'sentinel');
    },
  );
  assert.deepEqual(got, [[], [], [['custom only']], [['custom only']]]);
});

test('rooms and except across the servers', async () => {
  await ask(a2, 'join', 'r');
  await ask(b1, 'join', 'r');
  await roomSubscribed('r', 2);
  // The sentinel: nsp.except("nobody").emit("room-back", "sentinel") reaches everyone.
  // socket.to("r"): the room's members on both servers, not the sender.
  let got = await record(
    [a1, a2, b1, b2],
    'room-back',
    () => a1.emit('to-room', 'r', 'to r'),
    () => a1.emit('except-room', 'nobody', 'sentinel'),
  );
  assert.deepEqual(got, [[], [['to r']], [['to r']], []]);
  // nsp.except("r"): everyone outside r, on both servers, the sender included.
  got = await record(
    [a1, a2, b1, b2],
    'room-back',
    () => b2.emit('except-room', 'r', 'not r'),
    () => b2.emit('except-room', 'nobody', 'sentinel'),
  );
  assert.deepEqual(got, [[['not r']], [], [], [['not r']]]);
});

test('fetch_sockets from either server lists the sockets of both, with rooms and data', async () => {
  await ask(a1, 'set-data', { name: 'a1' });
  await ask(a2, 'set-data', { name: 'a2', n: [1, 2] });
  await ask(b1, 'set-data', { name: 'b1' });
  await ask(b2, 'set-data', null);
  const expected = [a1, a2, b1, b2].map((client) => client.id).sort();
  for (const asker of [a1, b1]) {
    const listed = await ask(asker, 'fetch-sockets', null);
    assert.deepEqual(
      listed.map((s) => s.id),
      expected,
    );
    const byId = new Map(listed.map((s) => [s.id, s]));
    assert.deepEqual(byId.get(a2.id).data, { name: 'a2', n: [1, 2] });
    assert.deepEqual(byId.get(b1.id).data, { name: 'b1' });
    assert.equal(byId.get(b2.id).data, null);
    assert.deepEqual([...byId.get(b1.id).rooms].sort(), [b1.id, 'r'].sort());
    assert.deepEqual(byId.get(a1.id).rooms, [a1.id]);
    // With a room: only its members, wherever they are.
    const inRoom = await ask(asker, 'fetch-sockets', 'r');
    assert.deepEqual(
      inRoom.map((s) => s.id),
      [a2.id, b1.id].sort(),
    );
  }
});

test('sockets_join and sockets_leave from one server act on the other one\'s sockets', async () => {
  await ask(a1, 'sockets-join', b2.id, 'joined');
  await eventuallyListed(b1, 'joined', [b2.id]);
  await ask(b1, 'sockets-join', 'r', 'joined');
  await eventuallyListed(a1, 'joined', [a2.id, b1.id, b2.id].sort());
  await ask(b2, 'sockets-leave', 'joined', 'joined');
  await eventuallyListed(a2, 'joined', []);
});

test('server-side emits reach the other server only', async () => {
  const everyone = [a1, a2, b1, b2];
  let got = await record(
    everyone,
    'hello-back',
    () => a1.emit('server-side-emit', 'from A', 7),
    async () => {
      // A sentinel from each server: B's through A's serverSideEmit, A's through B's.
      a1.emit('server-side-emit', 'sentinel');
      b1.emit('server-side-emit', 'sentinel');
    },
  );
  // hello-back is (the id of the server whose listener ran, ...args).
  assert.deepEqual(got, [[], [], [[B_ID, 'from A', 7]], [[B_ID, 'from A', 7]]]);
  got = await record(
    everyone,
    'hello-back',
    () => b2.emit('server-side-emit', 'from B'),
    async () => {
      // B's sentinel from b2 itself: one client's packets are handled in order, two clients'
      // packets are not (b1's sentinel could overtake b2's emit on server B).
      a1.emit('server-side-emit', 'sentinel');
      b2.emit('server-side-emit', 'sentinel');
    },
  );
  assert.deepEqual(got, [[[A_ID, 'from B']], [[A_ID, 'from B']], [], []]);
});

test('server-side emits with acks: one answer from the other server', async () => {
  assert.deepEqual(await ask(a1, 'server-side-emit-with-ack'), { err: null, responses: [B_ID] });
  assert.deepEqual(await ask(b2, 'server-side-emit-with-ack'), { err: null, responses: [A_ID] });
});

test('a broadcast with acks counts the clients of both servers', async () => {
  // Every client of "/" answers `ask`: the two of A and the two of B.
  assert.deepEqual(await ask(a1, 'broadcast-with-ack', 'x'), { err: null, count: 4 });
  assert.deepEqual(await ask(b1, 'broadcast-with-ack', 'y'), { err: null, count: 4 });
  assert.deepEqual(await ask(customB, 'broadcast-with-ack', 'z'), { err: null, count: 2 });
});

test('binary arguments cross the cluster', async () => {
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  const nested = Buffer.from('nested');
  const got = await record(
    [a1, b1],
    'broadcast-back',
    () => a2.emit('broadcast', 'bin', bytes, { file: nested, name: 'f' }),
    () => a2.emit('broadcast', 'sentinel'),
  );
  for (const [[label, top, object]] of got) {
    assert.equal(label, 'bin');
    assert.ok(Buffer.isBuffer(top) || top instanceof ArrayBuffer, 'a Buffer');
    assert.deepEqual(Buffer.from(top), bytes);
    assert.deepEqual(Buffer.from(object.file), nested);
    assert.equal(object.name, 'f');
  }
});

test('disconnect_sockets from one server disconnects the other one\'s sockets', async () => {
  const victim = await connect(B);
  const gone = next(victim, 'disconnect');
  await ask(a1, 'disconnect-sockets', victim.id);
  assert.equal((await gone)[0], 'io server disconnect');
  const victimA = await connect(A);
  const goneA = next(victimA, 'disconnect');
  await ask(b2, 'disconnect-sockets', victimA.id);
  assert.equal((await goneA)[0], 'io server disconnect');
});

// The emitter speaks the classic adapter's messages only: a sharded cluster has no such test.
const classicOnly = ADAPTER === 'classic' ? test : () => {};

classicOnly('@socket.io/redis-emitter drives both servers', async () => {
  const redis = createClient({ url: process.env.REDIS_URL });
  await redis.connect();
  try {
    const emitter = new Emitter(redis);
    const everyone = [a1, a2, b1, b2];
    // To all.
    let got = await record(
      everyone,
      'news',
      () => emitter.emit('news', 'to all', Buffer.from([1, 2])),
      () => emitter.emit('news', 'sentinel'),
    );
    for (const list of got) {
      assert.equal(list.length, 1);
      assert.equal(list[0][0], 'to all');
      assert.deepEqual(Buffer.from(list[0][1]), Buffer.from([1, 2]));
    }
    // To a room, except one.
    got = await record(
      everyone,
      'news',
      () => emitter.to('r').except(b1.id).emit('news', 'to r'),
      () => emitter.emit('news', 'sentinel'),
    );
    assert.deepEqual(got, [[], [['to r']], [], []]);
    // Its serverSideEmit reaches every server's listeners (each answers its own clients).
    got = await record(
      everyone,
      'hello-back',
      () => emitter.serverSideEmit('hello', 'from the emitter'),
      () => emitter.emit('hello-back', 'sentinel'),
    );
    assert.deepEqual(got, [
      [[A_ID, 'from the emitter']],
      [[A_ID, 'from the emitter']],
      [[B_ID, 'from the emitter']],
      [[B_ID, 'from the emitter']],
    ]);
    // socketsJoin, then a broadcast to that room.
    emitter.in(b2.id).socketsJoin('by-emitter');
    emitter.in(a1.id).socketsJoin('by-emitter');
    await eventuallyListed(a2, 'by-emitter', [a1.id, b2.id].sort());
    emitter.in('by-emitter').socketsLeave('by-emitter');
    await eventuallyListed(b1, 'by-emitter', []);
  } finally {
    await redis.quit();
  }
});
