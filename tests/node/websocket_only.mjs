// The official clients against a server started with `--transports websocket`
// (engine.io's `transports: ['websocket']`):
//
//   node tests/node/websocket_only.mjs engine   http://127.0.0.1:PORT   (engine_echo at /engine.io/)
//   node tests/node/websocket_only.mjs socketio http://127.0.0.1:PORT   (interop at /socket.io/)
//
// A client with `transports: ['websocket']` connects and gets its echo; a client
// that starts with polling (the default) cannot connect. Prints one line per
// check and exits 0 when all passed, 1 otherwise (a stuck step fails after 5 s).
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import { io } from 'socket.io-client';

const [mode, url] = process.argv.slice(2);
if (!['engine', 'socketio'].includes(mode) || !url) {
  console.error('usage: websocket_only.mjs engine|socketio URL');
  process.exit(2);
}

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function engine() {
  const socket = new Socket(url, { path: '/engine.io/', transports: ['websocket'] });
  const handshake = await within(
    5000,
    new Promise((resolve, reject) => {
      socket.once('handshake', resolve);
      socket.once('error', reject);
    }),
    'websocket client open',
  );
  assert.deepEqual(handshake.upgrades, []);
  assert.equal(socket.transport.name, 'websocket');
  const echoed = await within(
    5000,
    new Promise((resolve) => {
      socket.once('message', resolve);
      socket.send('over websocket only');
    }),
    'echo',
  );
  assert.equal(echoed, 'over websocket only');
  socket.close();
  console.log('engine.io-client, transports [websocket]: open, upgrades [], echo');

  const polling = new Socket(url, { path: '/engine.io/' });
  const error = await within(
    5000,
    new Promise((resolve, reject) => {
      polling.once('error', resolve);
      polling.once('open', () => reject(new Error('a polling client opened')));
    }),
    'polling client error',
  );
  polling.close();
  assert.equal(error.message, 'xhr poll error');
  assert.equal(error.description, 400);
  console.log(`engine.io-client, default transports: error "${error.message}" (${error.description})`);
}

async function socketio() {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  await within(
    5000,
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }),
    'websocket client connect',
  );
  assert.equal(socket.io.engine.transport.name, 'websocket');
  const back = await within(
    5000,
    new Promise((resolve) => {
      socket.once('message-back', (...args) => resolve(args));
      socket.emit('message', 'over websocket only', 1);
    }),
    'message-back',
  );
  assert.deepEqual(back, ['over websocket only', 1]);
  socket.disconnect();
  console.log('socket.io-client, transports [websocket]: connect, message-back');

  const polling = io(url, { reconnection: false });
  const error = await within(
    5000,
    new Promise((resolve, reject) => {
      polling.once('connect_error', resolve);
      polling.once('connect', () => reject(new Error('a polling client connected')));
    }),
    'polling client connect_error',
  );
  polling.disconnect();
  assert.equal(error.message, 'xhr poll error');
  console.log(`socket.io-client, default transports: connect_error "${error.message}"`);
}

try {
  await (mode === 'engine' ? engine() : socketio());
  process.exit(0);
} catch (err) {
  console.error(`FAIL: ${err.stack || err}`);
  process.exit(1);
}
