// The chapter's page, as a socket.io 2.x client in Node (socket.io-client@2.5.0, Engine.IO v3),
// against the chapter's server started with --allow-eio3 (ours, or reference/chapter.mjs):
//
//   node tests/node/chapter_v2.mjs http://127.0.0.1:PORT polling|websocket|default
//
// Connects to / at path /socket.io, answers each `news` with `reply` "Hello Node.JS" as
// index.html does, and after two of them disconnects. Prints one line,
// `{"id":...,"transport":...,"news":[...]}`, and exits 0; on any failure prints why and exits 1.
import io from 'socket.io-client-v2';

const [url, kind] = process.argv.slice(2);
const transports = { polling: ['polling'], websocket: ['websocket'], default: undefined }[kind];
if (!url || !(kind in { polling: 1, websocket: 1, default: 1 })) {
  console.error('usage: chapter_v2.mjs URL polling|websocket|default');
  process.exit(2);
}

const fail = (why) => {
  console.error(`chapter_v2.mjs (${kind}): ${why}`);
  process.exit(1);
};
setTimeout(() => fail('no two news within 10 s'), 10_000).unref();

const socket = io.connect(url, { path: '/socket.io', forceNew: true, reconnection: false, ...(transports ? { transports } : {}) });
const news = [];
socket.on('error', (err) => fail(`error ${JSON.stringify(err)}`));
socket.on('connect_error', (err) => fail(`connect_error ${err.message ?? err}`));
socket.on('news', (data) => {
  news.push(data);
  socket.emit('reply', 'Hello Node.JS');
  if (news.length < 2) return;
  const transport = socket.io.engine.transport.name;
  if (kind === 'default' && transport !== 'websocket') return; // wait for the upgrade
  const id = socket.id;
  // The reply must leave before the disconnect; 2.x has no callback for it, so give it a moment.
  setTimeout(() => {
    socket.disconnect();
    console.log(JSON.stringify({ id, transport, news }));
    setTimeout(() => process.exit(0), 200);
  }, 100);
});
