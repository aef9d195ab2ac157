// Reference equivalent of our `examples/interop`: a socket.io server at path
// /socket.io/ with the namespaces `/` and `/custom`, the dynamic ones and
// `/listeners` below (any other namespace is refused: the client gets
// connect_error "Invalid namespace"); `/guarded` has a
// middleware that refuses any auth but {token: 'secret'} with
// connect_error "not authorized", data {code: 401}.
//
// Flags: --port N (0 = ephemeral), --ping-interval MS, --ping-timeout MS,
//        --max-payload BYTES, --connect-timeout MS, --cors-origin ORIGIN[,ORIGIN...],
//        --transports websocket[,polling], and the other engine flags of
//        common.mjs (--allow-upgrades, --cookie, --cors-*, --initial-header, --header).
//        --server-id NAME (SERVER_ID below; default: the port it listens on),
//        --redis URL (the @socket.io/redis-adapter 8.3.0 adapter over node-redis 4.7.0:
//        createAdapter, or createShardedAdapter with --redis-sharded), --redis-key PREFIX
//        (`key` / `channelPrefix`, default socket.io), --redis-requests-timeout MS
//        (`requestsTimeout` of the classic adapter, default 5000), --redis-subscription-mode
//        static|dynamic|dynamic-private (the sharded adapter's, default dynamic),
//        --redis-specific-response-channel (publishOnSpecificResponseChannel),
//        --admin-ui [--admin-ui-auth USER:BCRYPT_HASH] [--admin-ui-readonly]
//        [--admin-ui-mode development|production]: instrument(io, {...}) of
//        @socket.io/admin-ui (its CORS is --cors-origin's).
//        --parser json|msgpack: `parser: require('socket.io-msgpack-parser')` with msgpack.
//        --recover: connectionStateRecovery on (every event but acks and volatile ones then
//        carries its offset as its last argument), with --max-disconnection MS
//        (maxDisconnectionDuration, default 120000).
// Stdout: exactly one line, `listening on 127.0.0.1:PORT`; logs go to stderr.
//
// Behaviour, identical in both namespaces (`nsp` = the socket's namespace):
//   on connection             emit `auth` with socket.handshake.auth
//   `message` (...args)       emit `message-back` (...args) to the sender
//   `message-with-ack` (...args, ack)
//                             ack(...args)
//   `broadcast` (...args)     nsp.emit(`broadcast-back`, ...args)   (sender included)
// Hooks for the tests:
//   `join` (room, ack)        socket.join(room), then ack()
//   `to-room` (room, ...args) socket.to(room).emit(`room-back`, ...args)
//                             (room members except the sender)
//   `except-room` (room, ...args)
//                             nsp.except(room).emit(`room-back`, ...args)
//                             (everyone in the namespace not in room, sender included)
//   `server-disconnect` (close)
//                             socket.disconnect(close === true)
//   `emit-with-ack` (...args) emit `ask` (...args) to the sender with an ack and a
//                             5 s timeout; when acked: emit `ask-answered` with the
//                             ack's arguments; on timeout: emit `ask-timeout` (no args)
//   `nsp-to-room` (room, ...args)
//                             nsp.to(room).emit(`room-back`, ...args) (sender included)
//   `new-namespaces` (ack)    ack(the names `io.on('new_namespace')` has seen, in order)
//
// Dynamic namespaces, with the same handlers (set on the parent, copied to each
// child when a CONNECT makes it; `nsp` is then the parent, so `broadcast`,
// `nsp-to-room` and `except-room` reach every child):
//   io.of(/^\/dynamic-\d+$/)   /dynamic-1, /dynamic-42, ...; /dynamic-x is "Invalid namespace"
//   io.of((name, auth, next) => next(null, name.startsWith('/fn-') && auth.deny !== true))
//                             /fn-anything, unless auth is {deny: true}
//
// `/listeners`: the socket's incoming and outgoing listeners, then the same handlers:
//   socket.onAny((event, ...args) => socket.emit(`any-back`, event, ...args))
//   socket.prependAny((event) => socket.emit(`any-first`, event))   (added second, runs first)
//   socket.onAnyOutgoing((event) => outgoing.push(event))  (this socket's outgoing events)
//   socket.use(([event], next) => next(event === 'forbidden' ? new Error('forbidden') : undefined))
//   socket.on('error', (err) => socket.emit(`use-error`, { message: err.message }))
//   `forbidden` (...args)     emit `forbidden-handled` (never: the middleware drops it)
//   `off-any` (ack)           socket.offAny(the `any-back` listener); ack(socket.listenersAny().length)
//   `outgoing-log` (ack)      ack(outgoing)
//   socket.conn.on('upgrade', (transport) => upgrades.push(transport.name))
//   `conn` (ack)              ack({ id: socket.conn.id, transport: socket.conn.transport.name, upgrades })
//   disconnecting (reason)    nsp.to('watchers').emit(`peer-disconnecting`, socket.id, [...socket.rooms].sort(), reason)
//   disconnect (reason)       nsp.to('watchers').emit(`peer-disconnect`, socket.id, [...socket.rooms].sort(), reason)
// Operators on many sockets (issue 9):
//   `set-data` (value, ack)   socket.data = value; ack()
//   `fetch-sockets` (room|null, ack)
//                             ack([{id, rooms, data}] of (room ? nsp.in(room) : nsp).fetchSockets(),
//                             sorted by id, each one's rooms sorted)
//   `sockets-join` (target, room, ack)   nsp.in(target).socketsJoin(room); ack()
//   `sockets-leave` (target, room, ack)  nsp.in(target).socketsLeave(room); ack()
//   `disconnect-sockets` (room, ack)     ack(); then nsp.in(room).disconnectSockets(true)
//   `broadcast-with-ack` (...args, ack)  nsp.timeout(2000).emit('ask', ...args, (err, responses) =>
//                             ack({err: err ? err.message : null, count: responses.length}))
//   `server-side-emit` (...args)         nsp.serverSideEmit('hello', ...args); on 'hello' from
//                             another server: nsp.local.emit('hello-back', SERVER_ID, ...args)
//   `server-side-emit-with-ack` (ack)    nsp.serverSideEmitWithAck('ping') -> ack({err, responses
//                             sorted}); on 'ping' (cb) from another server: cb(SERVER_ID). With the
//                             in-memory adapter (one server) it never settles: no ack.
// Connection state recovery (issue 11):
//   `ticks` (count, everyMs, ack)        socket.join('r'); ack(); then every everyMs, for i = 0 ..
//                             count-1: nsp.to(socket.id).emit('tick', i), and when i % 3 === 0
//                             also nsp.to('r').emit('room-tick', i)
//   `close-conn` ()           socket.conn.close(): the Engine.IO connection closes ("forced close")
//                             with no Socket.IO DISCONNECT, so the client reconnects
// A trailing ack callback on any event other than `message-with-ack` and `join`
// is ignored.
import http from 'node:http';
import { createRequire } from 'node:module';
import { Server } from 'socket.io';
import { instrument } from '@socket.io/admin-ui';
import { parseServerArgs, listen } from './common.mjs';

const { port, engineOpts, int, values, addHeaderListeners } = parseServerArgs({
  'connect-timeout': { type: 'string' },
  'server-id': { type: 'string' },
  parser: { type: 'string' },
  recover: { type: 'boolean', default: false },
  'max-disconnection': { type: 'string' },
  redis: { type: 'string' },
  'redis-key': { type: 'string' },
  'redis-sharded': { type: 'boolean' },
  'redis-requests-timeout': { type: 'string' },
  'redis-subscription-mode': { type: 'string' },
  'redis-specific-response-channel': { type: 'boolean' },
  'admin-ui': { type: 'boolean' },
  'admin-ui-auth': { type: 'string' },
  'admin-ui-readonly': { type: 'boolean' },
  'admin-ui-mode': { type: 'string', default: 'development' },
});
const connectTimeout = int('connect-timeout');
if (values.parser !== undefined && values.parser !== 'json' && values.parser !== 'msgpack') {
  console.error(`--parser ${values.parser}: json or msgpack`);
  process.exit(2);
}
const parser = values.parser === 'msgpack' ? { parser: createRequire(import.meta.url)('socket.io-msgpack-parser') } : {};
const recovery = values.recover
  ? { connectionStateRecovery: { maxDisconnectionDuration: int('max-disconnection') ?? 120000 } }
  : {};

// --redis: the adapter every namespace gets (made before the namespaces below).
let adapter;
if (values.redis !== undefined) {
  const { createClient } = await import('redis');
  const { createAdapter, createShardedAdapter } = await import('@socket.io/redis-adapter');
  const pubClient = createClient({ url: values.redis });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) {
    client.on('error', (err) => console.error(`redis client error: ${err.message}`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const key = values['redis-key'];
  if (values['redis-sharded']) {
    adapter = createShardedAdapter(pubClient, subClient, {
      ...(key !== undefined ? { channelPrefix: key } : {}),
      ...(values['redis-subscription-mode'] !== undefined
        ? { subscriptionMode: values['redis-subscription-mode'] }
        : {}),
    });
  } else {
    const requestsTimeout = int('redis-requests-timeout');
    adapter = createAdapter(pubClient, subClient, {
      ...(key !== undefined ? { key } : {}),
      ...(requestsTimeout !== undefined ? { requestsTimeout } : {}),
      publishOnSpecificResponseChannel: values['redis-specific-response-channel'] === true,
    });
  }
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const io = new Server(httpServer, {
  path: '/socket.io/',
  serveClient: false,
  ...engineOpts,
  ...(connectTimeout !== undefined ? { connectTimeout } : {}),
  ...(adapter !== undefined ? { adapter } : {}),
  ...recovery,
  ...parser,
});
addHeaderListeners(io.engine);

const withoutAck = (args) =>
  args.length > 0 && typeof args[args.length - 1] === 'function' ? args.slice(0, -1) : args;
const lastAck = (args) => (typeof args[args.length - 1] === 'function' ? args[args.length - 1] : () => {});
const serverId = () => values['server-id'] ?? String(httpServer.address().port);

function setupOperators(nsp, socket) {
  socket.on('set-data', (value, ack) => {
    socket.data = value;
    if (typeof ack === 'function') ack();
  });
  socket.on('fetch-sockets', async (room, ack) => {
    const sockets = await (room ? nsp.in(room) : nsp).fetchSockets();
    const list = sockets
      .map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (typeof ack === 'function') ack(list);
  });
  socket.on('sockets-join', (target, room, ack) => {
    nsp.in(target).socketsJoin(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('sockets-leave', (target, room, ack) => {
    nsp.in(target).socketsLeave(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('disconnect-sockets', (room, ack) => {
    if (typeof ack === 'function') ack();
    nsp.in(room).disconnectSockets(true);
  });
  socket.on('broadcast-with-ack', (...args) => {
    const ack = lastAck(args);
    nsp.timeout(2000).emit('ask', ...withoutAck(args), (err, responses) => {
      ack({ err: err ? err.message : null, count: responses.length });
    });
  });
  socket.on('server-side-emit', (...args) => {
    nsp.serverSideEmit('hello', ...withoutAck(args));
  });
  // Only here: the classic Redis adapter's allRooms() (every server's rooms).
  socket.on('all-rooms', async (ack) => {
    ack([...(await nsp.adapter.allRooms())].sort());
  });
  socket.on('server-side-emit-with-ack', async (ack) => {
    try {
      const responses = await nsp.serverSideEmitWithAck('ping');
      ack({ err: null, responses: [...responses].sort() });
    } catch (err) {
      ack({ err: err.message, responses: [...(err.responses ?? [])].sort() });
    }
  });
}

function setupServerSide(nsp) {
  nsp.on('hello', (...args) => {
    nsp.local.emit('hello-back', serverId(), ...args);
  });
  nsp.on('ping', (cb) => {
    cb(serverId());
  });
}

// Every namespace made after `/` (`/` exists from the start: no event for it).
const created = [];
io.on('new_namespace', (namespace) => created.push(namespace.name));

function setup(nsp) {
  setupServerSide(nsp);
  nsp.on('connection', (socket) => handlers(socket, nsp));
}

// `/listeners`: catch-all listeners, a `socket.use` middleware, `disconnecting`, then the same handlers.
function setupListeners(nsp) {
  setupServerSide(nsp);
  nsp.on('connection', (socket) => {
    const echo = (event, ...args) => socket.emit('any-back', event, ...withoutAck(args));
    socket.onAny(echo);
    socket.prependAny((event) => socket.emit('any-first', event)); // added second, runs first
    const outgoing = [];
    socket.onAnyOutgoing((event) => outgoing.push(event));
    socket.use(([event], next) => next(event === 'forbidden' ? new Error('forbidden') : undefined));
    socket.on('error', (err) => socket.emit('use-error', { message: err.message }));
    socket.on('forbidden', () => socket.emit('forbidden-handled'));
    socket.on('off-any', (ack) => {
      socket.offAny(echo);
      if (typeof ack === 'function') ack(socket.listenersAny().length);
    });
    socket.on('outgoing-log', (ack) => {
      if (typeof ack === 'function') ack([...outgoing]);
    });
    const upgrades = [];
    socket.conn.on('upgrade', (transport) => upgrades.push(transport.name));
    socket.on('conn', (ack) => {
      if (typeof ack === 'function') ack({ id: socket.conn.id, transport: socket.conn.transport.name, upgrades: [...upgrades] });
    });
    socket.on('disconnecting', (reason) => {
      nsp.to('watchers').emit('peer-disconnecting', socket.id, [...socket.rooms].sort(), reason);
    });
    socket.on('disconnect', (reason) => {
      nsp.to('watchers').emit('peer-disconnect', socket.id, [...socket.rooms].sort(), reason);
    });
    handlers(socket, nsp);
  });
}

// The handlers every namespace has (`nsp` is the namespace they were set up on).
function handlers(socket, nsp) {
  socket.emit('auth', socket.handshake.auth);

  socket.on('message', (...args) => {
    socket.emit('message-back', ...withoutAck(args));
  });
  socket.on('message-with-ack', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('broadcast', (...args) => {
    nsp.emit('broadcast-back', ...withoutAck(args));
  });
  socket.on('join', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('to-room', (room, ...args) => {
    socket.to(room).emit('room-back', ...withoutAck(args));
  });
  socket.on('except-room', (room, ...args) => {
    nsp.except(room).emit('room-back', ...withoutAck(args));
  });
  socket.on('server-disconnect', (close) => {
    socket.disconnect(close === true);
  });
  socket.on('emit-with-ack', (...args) => {
    socket.timeout(5000).emit('ask', ...withoutAck(args), (err, ...answer) => {
      if (err) socket.emit('ask-timeout');
      else socket.emit('ask-answered', ...answer);
    });
  });
  socket.on('nsp-to-room', (room, ...args) => {
    nsp.to(room).emit('room-back', ...withoutAck(args));
  });
  socket.on('new-namespaces', (ack) => {
    if (typeof ack === 'function') ack([...created]);
  });
  setupOperators(nsp, socket);
  setupRecoveryHooks(socket);
}

function setupRecoveryHooks(socket) {
  socket.on('ticks', (count, everyMs, ack) => {
    socket.join('r');
    if (typeof ack === 'function') ack();
    const nsp = socket.nsp;
    const id = socket.id;
    let i = 0;
    const timer = setInterval(() => {
      if (i >= count) return clearInterval(timer);
      nsp.to(id).emit('tick', i);
      if (i % 3 === 0) nsp.to('r').emit('room-tick', i);
      i++;
      if (i >= count) clearInterval(timer);
    }, everyMs);
  });
  socket.on('close-conn', () => {
    socket.conn.close();
  });
}

setup(io.of('/'));
setup(io.of('/custom'));
// `/guarded`: a middleware lets in only auth.token === 'secret'.
const guarded = io.of('/guarded');
guarded.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === 'secret') return next();
  const err = new Error('not authorized');
  err.data = { code: 401 };
  next(err);
});
setup(guarded);
setupListeners(io.of('/listeners'));
setup(io.of(/^\/dynamic-\d+$/));
setup(io.of((name, auth, next) => next(null, name.startsWith('/fn-') && auth.deny !== true)));

if (values['admin-ui']) {
  let auth = false;
  if (values['admin-ui-auth'] !== undefined) {
    const text = values['admin-ui-auth'];
    const at = text.indexOf(':');
    auth = { type: 'basic', username: text.slice(0, at), password: text.slice(at + 1) };
  }
  const options = { auth, readonly: values['admin-ui-readonly'] === true, mode: values['admin-ui-mode'] };
  // once the port (the default server id) is known, before the "listening on" line
  httpServer.once('listening', () => instrument(io, { ...options, serverId: serverId() }));
}

io.engine.on('connection_error', (err) => {
  console.error(`connection_error: ${err.code} ${err.message}`);
});

listen(httpServer, port);
