// Reference equivalent of our `examples/interop`: a socket.io server at path
// /socket.io/ with two namespaces, `/` and `/custom` (any other namespace is
// refused: the client gets connect_error "Invalid namespace"); `/guarded` has a
// middleware that refuses any auth but {token: 'secret'} with
// connect_error "not authorized", data {code: 401}.
//
// Flags: --port N (0 = ephemeral), --ping-interval MS, --ping-timeout MS,
//        --max-payload BYTES, --connect-timeout MS, --cors-origin ORIGIN,
//        --redis URL (the @socket.io/redis-adapter 8.3.0 adapter over node-redis 4.7.0:
//        createAdapter, or createShardedAdapter with --redis-sharded), --redis-key PREFIX
//        (`key` / `channelPrefix`, default socket.io), --redis-requests-timeout MS
//        (`requestsTimeout` of the classic adapter, default 5000), --redis-subscription-mode
//        static|dynamic|dynamic-private (the sharded adapter's, default dynamic).
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
// A trailing ack callback on any event other than `message-with-ack` and `join`
// is ignored.
import http from 'node:http';
import { Server } from 'socket.io';
import { parseServerArgs, listen } from './common.mjs';

const { port, engineOpts, int, values } = parseServerArgs({
  'connect-timeout': { type: 'string' },
  redis: { type: 'string' },
  'redis-key': { type: 'string' },
  'redis-sharded': { type: 'boolean' },
  'redis-requests-timeout': { type: 'string' },
  'redis-subscription-mode': { type: 'string' },
  'redis-specific-response-channel': { type: 'boolean' },
  'server-id': { type: 'string' },
});
const connectTimeout = int('connect-timeout');

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
});

const withoutAck = (args) =>
  args.length > 0 && typeof args[args.length - 1] === 'function' ? args.slice(0, -1) : args;

function setup(nsp) {
  nsp.on('connection', (socket) => {
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
    // The server API's operators (issue 9), across a cluster with --redis.
    socket.on('set-data', (value, ack) => {
      socket.data = value;
      if (typeof ack === 'function') ack();
    });
    socket.on('fetch-sockets', async (room, ack) => {
      const sockets = await (room ? nsp.in(room) : nsp).fetchSockets();
      const listed = sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data }));
      listed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (typeof ack === 'function') ack(listed);
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
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : () => {};
      nsp.timeout(2000).emit('ask', ...args, (err, responses) => {
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
        ack({ err: null, responses: responses.sort() });
      } catch (err) {
        ack({ err: err.message, responses: (err.responses || []).sort() });
      }
    });
  });
  // From the other servers of the cluster.
  nsp.on('hello', (...args) => {
    nsp.local.emit('hello-back', serverId(), ...withoutAck(args));
  });
  nsp.on('ping', (cb) => {
    if (typeof cb === 'function') cb(serverId());
  });
}

const serverId = () => values['server-id'] ?? String(httpServer.address().port);

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

io.engine.on('connection_error', (err) => {
  console.error(`connection_error: ${err.code} ${err.message}`);
});

listen(httpServer, port);
