// Helpers for the engine.io interop tests (official engine.io-client against
// an echo server at SERVER_URL, path /engine.io/).
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';

export const SERVER_URL = process.env.SERVER_URL;
if (!SERVER_URL) {
  throw new Error('SERVER_URL is not set (run the suite through run.mjs, or export SERVER_URL=http://127.0.0.1:PORT)');
}

/** Timeout of one test: a failure must never hang. */
export const TEST_TIMEOUT = 15_000;

/** The three client kinds every case runs with. */
export const MODES = {
  polling: { transports: ['polling'] },
  websocket: { transports: ['websocket'] },
  // the default: HTTP long-polling first, then upgrade to WebSocket
  upgrade: { transports: ['polling', 'websocket'] },
};

/**
 * The clients of one test: `new Clients(t)` closes them all when the test ends
 * (passes, fails or times out). Once closed, opening another client throws, so
 * a test body still running after its timeout cannot leave a client behind.
 */
export class Clients {
  constructor(t) {
    this.sockets = new Set();
    this.closed = false;
    t.after(() => this.closeAll());
    t.signal.addEventListener('abort', () => this.closeAll(), { once: true });
  }

  /** Adds a socket created by the test itself. */
  add(socket) {
    if (this.closed) {
      socket.close();
      throw new Error('test already finished');
    }
    this.sockets.add(socket);
    return socket;
  }

  /**
   * Opens a client in `mode`, resolves once it is open (and, in mode
   * `upgrade`, once the upgrade to WebSocket is done).
   * Returns { socket, handshake, openTransport }.
   */
  async open(mode, extra = {}) {
    if (this.closed) throw new Error('test already finished');
    const socket = this.add(
      new Socket(SERVER_URL, {
        path: '/engine.io/',
        ...MODES[mode],
        ...extra,
      }),
    );
    let handshake = null;
    socket.on('handshake', (data) => {
      handshake = data;
    });
    const upgraded = mode === 'upgrade' ? waitUpgrade(socket) : null;
    const openTransport = await within(
      5000,
      new Promise((resolve, reject) => {
        socket.once('open', () => resolve(socket.transport.name));
        socket.once('error', (err) => reject(new Error(`client error before open: ${err?.message ?? err}`)));
        socket.once('close', (reason) => reject(new Error(`closed before open: ${reason}`)));
      }),
      `${mode} client did not open`,
    );
    if (upgraded) {
      const transport = await within(5000, upgraded, 'no upgrade to websocket');
      assert.equal(transport.name, 'websocket');
      assert.equal(socket.transport.name, 'websocket');
    }
    return { socket, handshake, openTransport };
  }

  closeAll() {
    this.closed = true;
    for (const s of this.sockets) s.close();
    this.sockets.clear();
  }
}

/** Resolves with the new transport on `upgrade`, rejects on `upgradeError`/`close`. */
export function waitUpgrade(socket) {
  return new Promise((resolve, reject) => {
    socket.once('upgrade', resolve);
    socket.once('upgradeError', (err) => reject(new Error(`upgradeError: ${err?.message ?? err}`)));
    socket.once('close', (reason) => reject(new Error(`closed before upgrade: ${reason}`)));
  });
}

/** Resolves with the next `n` messages the socket receives, rejects if it closes first. */
export function nextMessages(socket, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    const onMessage = (data) => {
      got.push(data);
      if (got.length === n) {
        cleanup();
        resolve(got);
      }
    };
    const onClose = (reason) => {
      cleanup();
      reject(new Error(`closed (${reason}) after ${got.length}/${n} messages`));
    };
    const cleanup = () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
    socket.on('message', onMessage);
    socket.on('close', onClose);
  });
}

/** Sends `data` and resolves with the message that comes back. */
export async function echo(socket, data) {
  const p = nextMessages(socket, 1);
  socket.send(data);
  return (await p)[0];
}

/** Bytes of a binary message as received (Buffer / ArrayBuffer / typed array); fails on text. */
export function bytes(data) {
  assert.notEqual(typeof data, 'string', 'expected a binary message, got text');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  assert.fail(`unexpected binary type: ${Object.prototype.toString.call(data)}`);
}

/** Deterministic pseudo-random bytes. */
export function pattern(len, seed = 1) {
  const b = Buffer.alloc(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Rejects with a clear message if `promise` does not settle within `ms`. */
export function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
