// Reference equivalent of our `examples/engine_echo`: a plain engine.io server
// at path /engine.io/ that sends every message (text or binary) back to its
// sender.
//
// Flags: --port N (0 = ephemeral), --ping-interval MS, --ping-timeout MS,
//        --max-payload BYTES (maxHttpBufferSize), --cors-origin ORIGIN[,ORIGIN...],
//        --transports websocket[,polling], and the other engine flags of
//        common.mjs (--allow-upgrades, --cookie, --cors-*, --initial-header, --header).
// Hook:  the text message `close-me` makes the server close that session
//        (socket.close()) instead of echoing it.
// Stdout: exactly one line, `listening on 127.0.0.1:PORT`; logs go to stderr.
import http from 'node:http';
import { Server } from 'engine.io';
import { parseServerArgs, listen } from './common.mjs';

const { port, engineOpts, addHeaderListeners } = parseServerArgs();

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const engine = new Server(engineOpts);
engine.attach(httpServer, { path: '/engine.io/' });
addHeaderListeners(engine);

engine.on('connection', (socket) => {
  socket.on('message', (data) => {
    if (data === 'close-me') {
      socket.close();
      return;
    }
    socket.send(data);
  });
});
engine.on('connection_error', (err) => {
  console.error(`connection_error: ${err.code} ${err.message} ${JSON.stringify(err.context)}`);
});

listen(httpServer, port);
