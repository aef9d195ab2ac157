// Test vectors for our msgpack parser (src/socketio/parser/msgpack.rs), made by
// socket.io-msgpack-parser 3.0.2 itself (notepack.io 2.2), as the reference server and the
// official client use it.
//
//   node tests/node/msgpack_parser_vectors.mjs     prints one JSON object on stdout
//
// {parser, server: [{name, hex}], client: [{name, hex, decoded}], bad: [{name, hex, error}]}:
//   server  the packets the reference server writes, each built as its code builds it (the
//           order of the fields is the order notepack writes them in)
//   client  packets the official client writes (socket.io-client's emit adds `options`), and
//           what the reference's decoder makes of them (JSON, Buffers as {"$bin": hex})
//   bad     bytes the reference's decoder refuses, and its error
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const parser = require('socket.io-msgpack-parser');
const { version } = require('socket.io-msgpack-parser/package.json');

const encoder = new parser.Encoder();
const hex = (packet) => {
  const messages = encoder.encode(packet);
  if (messages.length !== 1) throw new Error('one message per packet');
  return Buffer.from(messages[0]).toString('hex');
};

const SID = 'AAAAAAAAAAAAAAAAAAAA';
const server = [
  // socket.ts _onconnect: {type, data: {sid, pid}} then socket.packet() sets nsp
  ['connect answer, recovery off', { type: 0, data: { sid: SID, pid: undefined }, nsp: '/' }],
  ['connect answer, recovery on', { type: 0, data: { sid: SID, pid: 'BBBBBBBBBBBBBBBBBBBB' }, nsp: '/custom' }],
  // socket.emit / adapter.broadcast: {type, data}, nsp set last
  ['event', { type: 2, data: ['news', 'Hello Socket.IO'], nsp: '/' }],
  [
    'event with numbers, objects, bytes',
    {
      type: 2,
      data: ['mixed', 1, -1, 300, 70000, 1.5, -0.25, 2 ** 40, true, null, { b: 1, a: [1, 'x'], 2: 'two' }, Buffer.from([1, 2, 3]), { name: 'a.txt', file: Buffer.from([4, 5]) }, [Buffer.alloc(0)], 'é€😀'],
      nsp: '/custom',
    },
  ],
  ['event with a long string', { type: 2, data: ['long', 'x'.repeat(300)], nsp: '/' }],
  // socket.emit with an ack: {type, data}, id, then nsp
  ['emit with an ack', { type: 2, data: ['ask', 1], id: 12, nsp: '/' }],
  // adapter.broadcastWithAck: nsp then id
  ['broadcast with acks', { type: 2, data: ['ask', 'q'], nsp: '/custom', id: 7 }],
  // socket.ts ack(): {id, type, data}, then nsp
  ['ack', { id: 12, type: 3, data: ['yes', { ok: true }], nsp: '/' }],
  ['ack with nothing', { id: 0, type: 3, data: [], nsp: '/' }],
  // socket.disconnect(): {type}, then nsp
  ['disconnect', { type: 1, nsp: '/custom' }],
  // namespace.ts _error({message, data})
  ['middleware refusal', { type: 4, data: { message: 'no', data: undefined }, nsp: '/guarded' }],
  ['middleware refusal with data', { type: 4, data: { message: 'not authorized', data: { code: 401 } }, nsp: '/guarded' }],
  // client.ts connect(): {type, nsp, data}
  ['invalid namespace', { type: 4, nsp: '/nothing', data: { message: 'Invalid namespace' } }],
].map(([name, packet]) => ({ name, hex: hex(packet) }));

const tagged = (value) =>
  JSON.parse(
    JSON.stringify(value, function (key, v) {
      const raw = this[key];
      if (Buffer.isBuffer(raw)) return { $bin: raw.toString('hex') };
      return v === undefined ? { $undefined: true } : v;
    }),
  );
const decoded = (bytes) =>
  new Promise((resolve, reject) => {
    const decoder = new parser.Decoder();
    decoder.on('decoded', resolve);
    try {
      decoder.add(bytes);
    } catch (err) {
      reject(err);
    }
  });

const clientPackets = [
  // socket.io-client: _sendConnectPacket
  ['connect without auth', { type: 0, data: undefined, nsp: '/' }],
  ['connect with auth', { type: 0, data: { token: 'secret' }, nsp: '/guarded' }],
  ['connect with pid and offset', { type: 0, data: { pid: 'P', offset: 'PhPmfU0' }, nsp: '/' }],
  ['connect with pid, no offset yet', { type: 0, data: { pid: 'P', offset: undefined }, nsp: '/' }],
  // emit: {type, data, options}, id, nsp
  ['emit', { type: 2, data: ['message', 'hi', { file: Buffer.from([9]) }], options: { compress: true }, nsp: '/' }],
  ['emit with an ack', { type: 2, data: ['message-with-ack', 1], options: { compress: true }, id: 3, nsp: '/custom' }],
  ['ack', { type: 3, id: 5, data: ['ok', Buffer.from([1])], nsp: '/' }],
  ['disconnect', { type: 1, nsp: '/custom' }],
];
const client = [];
for (const [name, packet] of clientPackets) {
  const bytes = Buffer.from(encoder.encode(packet)[0]);
  client.push({ name, hex: bytes.toString('hex'), decoded: tagged(await decoded(bytes)) });
}

const notepack = require('socket.io-msgpack-parser/node_modules/notepack.io');
const badBytes = [
  ['truncated', notepack.encode({ type: 2, data: ['x'], nsp: '/' }).subarray(0, 10)],
  ['trailing bytes', Buffer.concat([notepack.encode({ type: 2, data: ['x'], nsp: '/' }), Buffer.from([0xc0])])],
  ['not a map', notepack.encode([2, ['x'], '/'])],
  ['type is a string', notepack.encode({ type: '2', data: ['x'], nsp: '/' })],
  ['type 5 (no binary types)', notepack.encode({ type: 5, data: ['x'], nsp: '/' })],
  ['no namespace', notepack.encode({ type: 2, data: ['x'] })],
  ['namespace is a number', notepack.encode({ type: 2, data: ['x'], nsp: 1 })],
  ['event data is an object', notepack.encode({ type: 2, data: { x: 1 }, nsp: '/' })],
  ['connect data is an array', notepack.encode({ type: 0, data: [], nsp: '/' })],
  ['disconnect with data', notepack.encode({ type: 1, data: 'x', nsp: '/' })],
  ['id is a string', notepack.encode({ type: 2, data: ['x'], id: '1', nsp: '/' })],
  ['id is a fraction', notepack.encode({ type: 2, data: ['x'], id: 1.5, nsp: '/' })],
  ['0xc1', Buffer.from([0xc1])],
  ['empty', Buffer.alloc(0)],
];
const bad = [];
for (const [name, bytes] of badBytes) {
  let error = null;
  try {
    await decoded(bytes);
  } catch (err) {
    error = err.message;
  }
  bad.push({ name, hex: bytes.toString('hex'), error });
}

process.stdout.write(JSON.stringify({ parser: version, server, client, bad }, null, 1) + '\n');
