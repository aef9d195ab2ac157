// Reference equivalent of the chapter binary (`socketio_book`) for the admin UI's browser test:
// the book's socket.js (ch11/11.3/gif-chat/socket.js of the first edition) on socket.io 4.8, and
// what the binary's `--admin-ui` adds: instrument(io, { auth: false }) and CORS with credentials
// for the UI's origin. No web page is served (the binary also serves the chapter's index).
//
// Flags: --port N (0 = ephemeral), --news-interval MS (default 3000), --admin-ui,
//        --admin-ui-origin ORIGIN (default https://admin.socket.io), and common.mjs's.
// Stdout: exactly one line, `listening on 127.0.0.1:PORT`; logs go to stderr.
import http from 'node:http';
import { Server } from 'socket.io';
import { instrument } from '@socket.io/admin-ui';
import { parseServerArgs, listen } from './common.mjs';

const { port, engineOpts, int, values } = parseServerArgs({
  'news-interval': { type: 'string', default: '3000' },
  'admin-ui': { type: 'boolean' },
  'admin-ui-origin': { type: 'string' },
});
const newsInterval = int('news-interval');

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});
const adminUi = values['admin-ui'] === true;
const io = new Server(httpServer, {
  path: '/socket.io',
  serveClient: false,
  ...engineOpts,
  ...(adminUi ? { cors: { origin: [values['admin-ui-origin'] || 'https://admin.socket.io'], credentials: true } } : {}),
});
if (adminUi) instrument(io, { auth: false, mode: 'development' });

// socket.js, as the book has it (console.log goes to stderr here: stdout is for the test).
io.on('connection', (socket) => {
  const req = socket.request;
  const ip = req.headers['x-forwarded-for'] || req.connection.remoteAddress;
  console.error('새로운 클라이언트 접속!', ip, socket.id, req.ip);
  socket.on('disconnect', () => {
    console.error('클라이언트 접속 해제', ip, socket.id);
    clearInterval(socket.interval);
  });
  socket.on('error', (error) => {
    console.error(error);
  });
  socket.on('reply', (data) => {
    console.error(data);
  });
  socket.interval = setInterval(() => {
    socket.emit('news', 'Hello Socket.IO');
  }, newsInterval);
});

listen(httpServer, port);
