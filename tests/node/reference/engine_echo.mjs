// Reference equivalent of our `examples/engine_echo`: a plain engine.io server
// at path /engine.io/ that sends every message (text or binary) back to its
// sender.
//
// Flags: --port N (0 = ephemeral), --ping-interval MS, --ping-timeout MS,
//        --max-payload BYTES (maxHttpBufferSize), --cors-origin ORIGIN[,ORIGIN...],
//        --transports websocket[,polling], and the other engine flags of
//        common.mjs (--allow-upgrades, --cookie, --cors-*, --initial-header, --header).
//        --close-timeout MS: the polling transport's closeTimeout (a constant of the
//        transport, set on each session's transport here).
// Hooks: the text message `close-me` makes the server close that session
//        (socket.close()) instead of echoing it; `close-all` closes the server
//        (engine.close()).
// Log:   `<sid>: close (<reason>)` on stderr when a session ends (as ours logs it).
// Stdout: exactly one line, `listening on 127.0.0.1:PORT`; logs go to stderr.
import http from 'node:http';
import { Server } from 'engine.io';
import { parseServerArgs, listen } from './common.mjs';

const { port, engineOpts, addHeaderListeners, int } = parseServerArgs({
  'close-timeout': { type: 'string' },
});
const closeTimeout = int('close-timeout');

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const engine = new Server(engineOpts);
engine.attach(httpServer, { path: '/engine.io/' });
addHeaderListeners(engine);

engine.on('connection', (socket) => {
  if (closeTimeout !== undefined && socket.transport.name === 'polling') {
    socket.transport.closeTimeout = closeTimeout;
  }
  socket.on('message', (data) => {
    if (data === 'close-me') {
      socket.close();
      return;
    }
    if (data === 'close-all') {
      engine.close();
      return;
    }
    socket.send(data);
  });
  socket.on('close', (reason) => console.error(`${socket.id}: close (${reason})`));
});
engine.on('connection_error', (err) => {
  console.error(`connection_error: ${err.code} ${err.message} ${JSON.stringify(err.context)}`);
});

listen(httpServer, port);
