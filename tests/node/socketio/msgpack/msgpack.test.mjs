// socket.io-client with `parser: require('socket.io-msgpack-parser')` against the interop server
// started with --parser msgpack (run.mjs adds it, ours or the reference): events, acks, bytes
// inside objects, namespaces, CONNECT_ERROR, over each transport; then the bytes themselves,
// with a raw WebSocket.
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Clients, KINDS, SERVER_URL, TEST_TIMEOUT, emitAck, normalize, waitEvent, within } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const parser = require('socket.io-msgpack-parser');
const OPTS = { parser };

const everything = () => [
  'text é€😀',
  0,
  -1,
  300,
  1.5,
  2 ** 40,
  true,
  null,
  [1, 'two', [3]],
  { b: 1, a: [1, 'x'], 2: 'two', nested: { deep: [null, false] } },
  Buffer.from([1, 2, 3]),
  { name: 'a.txt', file: Buffer.from([4, 5, 250]), parts: [Buffer.from([6]), { more: Buffer.alloc(0) }] },
];

for (const kind of Object.keys(KINDS)) {
  describe(`msgpack parser, ${kind}`, () => {
    test('events both ways, with bytes at the top and inside objects', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, auth } = await clients.connect(kind, '/', { ...OPTS, auth: { token: 'x', n: [1, 2] } });
      assert.deepEqual(await auth, [{ token: 'x', n: [1, 2] }]);
      const back = waitEvent(socket, 'message-back');
      socket.emit('message', ...everything());
      assert.deepEqual(normalize(await within(5000, back, 'no message-back')), everything());
    });

    test('acks both ways', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.connect(kind, '/', OPTS);
      assert.deepEqual(normalize(await emitAck(socket, 'message-with-ack', ...everything())), everything());
      socket.once('ask', (question, answer) => answer({ got: question, bytes: Buffer.from([7]) }));
      const answered = waitEvent(socket, 'ask-answered');
      socket.emit('emit-with-ack', 'q?');
      assert.deepEqual(normalize(await within(5000, answered, 'no ask-answered')), [{ got: 'q?', bytes: Buffer.from([7]) }]);
      // A broadcast with acks (the adapter's packet, `nsp` before `id`). It asks every socket of
      // "/": first wait until the previous test's client has left, or it is asked too.
      await aloneOnTheNamespace(socket);
      socket.once('ask', (question, answer) => answer('ok'));
      assert.deepEqual(await emitAck(socket, 'broadcast-with-ack', 'all?'), [{ err: null, count: 1 }]);
    });

    test('namespaces: /custom and a dynamic one beside /, on one connection', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const manager = clients.manager(kind, OPTS);
      const root = (await clients.socketOn(kind, manager, '/')).socket;
      const custom = (await clients.socketOn(kind, manager, '/custom')).socket;
      const dynamic = (await clients.socketOn(kind, manager, '/dynamic-7')).socket;
      assert.deepEqual(await emitAck(custom, 'message-with-ack', 'c', Buffer.from([1])), ['c', Buffer.from([1])]);
      assert.deepEqual(await emitAck(dynamic, 'message-with-ack', 'd'), ['d']);
      assert.deepEqual(await emitAck(root, 'message-with-ack', 'r'), ['r']);
      const gone = waitEvent(custom, 'disconnect');
      custom.emit('server-disconnect', false);
      assert.equal((await within(5000, gone, 'no disconnect'))[0], 'io server disconnect');
      assert.deepEqual(await emitAck(root, 'message-with-ack', 'still'), ['still']);
    });

    test('CONNECT_ERROR: a middleware refuses, an unknown namespace', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const manager = clients.manager(kind, OPTS);
      const guarded = manager.socket('/guarded', { auth: { token: 'wrong' } });
      const [refused] = await within(5000, waitEvent(guarded, 'connect_error'), 'no connect_error');
      assert.equal(refused.message, 'not authorized');
      assert.deepEqual(refused.data, { code: 401 });
      const nothing = manager.socket('/nothing');
      const [unknown] = await within(5000, waitEvent(nothing, 'connect_error'), 'no connect_error');
      assert.equal(unknown.message, 'Invalid namespace');
      // The same socket tries again with the right token.
      guarded.auth = { token: 'secret' };
      const connected = waitEvent(guarded, 'connect');
      guarded.connect();
      await within(5000, connected, 'no connect with the right token');
      assert.deepEqual(await emitAck(guarded, 'message-with-ack', 'in'), ['in']);
    });
  });
}

/** A raw WebSocket session of /socket.io/: resolves with it once the open packet is read. */
/** Waits until `fetch-sockets` lists only `socket` on its namespace (5 s at most). */
async function aloneOnTheNamespace(socket) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const [sockets] = await emitAck(socket, 'fetch-sockets', null);
    if (sockets.length === 1 && sockets[0].id === socket.id) return;
    if (Date.now() > deadline) assert.fail(`other sockets stay on the namespace: ${JSON.stringify(sockets)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rawSession(t) {
  const url = SERVER_URL.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket';
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  const frames = [];
  const waiting = [];
  ws.on('message', (data, isBinary) => {
    frames.push(isBinary ? Buffer.from(data) : data.toString());
    for (const wake of waiting.splice(0)) wake();
  });
  const closed = new Promise((resolve) => ws.on('close', resolve));
  const next = async () => {
    while (frames.length === 0) await within(5000, new Promise((r) => waiting.push(r)), 'no frame');
    return frames.shift();
  };
  await within(5000, new Promise((r) => ws.on('open', r)), 'no WebSocket');
  const open = await next();
  assert.match(open, /^0\{"sid"/);
  return { ws, next, closed };
}

const hex = (text) => Buffer.from(text).toString('hex');

test('on the wire: the CONNECT answer and an event, byte for byte', { timeout: TEST_TIMEOUT }, async (t) => {
  const { ws, next } = await rawSession(t);
  // A binary frame is one Engine.IO message, the packet's bytes as they are: {type: 0, nsp: "/"}.
  ws.send(new parser.Encoder().encode({ type: 0, nsp: '/' })[0]);
  const answer = await next();
  assert.ok(Buffer.isBuffer(answer), 'a binary frame');
  const decoder = new parser.Decoder();
  const decoded = await new Promise((resolve) => {
    decoder.on('decoded', resolve);
    decoder.add(answer);
  });
  assert.equal(typeof decoded.data.sid, 'string');
  // {type: 0, data: {sid, pid: undefined}, nsp: "/"}, pid written as d4 00 00.
  const expected =
    '83' + 'a4' + hex('type') + '00' + 'a4' + hex('data') + '82' + 'a3' + hex('sid') + 'b4' + hex(decoded.data.sid) +
    'a3' + hex('pid') + 'd40000' + 'a3' + hex('nsp') + 'a1' + hex('/');
  assert.equal(answer.toString('hex'), expected);
  // Then the `auth` event: {type: 2, data: ["auth", {}], nsp: "/"}.
  const auth = await next();
  assert.equal(auth.toString('hex'), '83' + 'a4' + hex('type') + '02' + 'a4' + hex('data') + '92' + 'a4' + hex('auth') + '80' + 'a3' + hex('nsp') + 'a1' + hex('/'));
});

test('bad input: bytes cut short close the connection', { timeout: TEST_TIMEOUT }, async (t) => {
  const { ws, next, closed } = await rawSession(t);
  const encoder = new parser.Encoder();
  ws.send(encoder.encode({ type: 0, nsp: '/' })[0]);
  await next(); // the CONNECT answer
  await next(); // `auth`
  const event = encoder.encode({ type: 2, data: ['message', 'x'], nsp: '/' })[0];
  ws.send(event.subarray(0, event.length - 3));
  await within(5000, closed, 'the connection stays open');
});

test('bad input: a JSON client gets nowhere and is closed', { timeout: TEST_TIMEOUT }, async (t) => {
  const { ws, closed } = await rawSession(t);
  ws.send('40');
  await within(5000, closed, 'the connection stays open');
});
