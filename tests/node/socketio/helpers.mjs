// Helpers for the socket.io interop tests (official socket.io-client against
// the interop server at SERVER_URL, path /socket.io/; see reference/interop.mjs
// for the server's events and hooks).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { io, Manager } from 'socket.io-client';

export const SERVER_URL = process.env.SERVER_URL;
if (!SERVER_URL) {
  throw new Error('SERVER_URL is not set (run the suite through run.mjs, or export SERVER_URL=http://127.0.0.1:PORT)');
}

/** Timeout of one test: a failure must never hang. */
export const TEST_TIMEOUT = 15_000;

/** The three client kinds every case runs with. */
export const KINDS = {
  polling: { transports: ['polling'] },
  websocket: { transports: ['websocket'] },
  // the default: HTTP long-polling first, then upgrade to WebSocket
  default: {},
};

export const BASE_OPTS = {
  path: '/socket.io/',
  forceNew: true,
  // quick (but bounded) reconnection, so "does not reconnect" can be checked in a short wait
  reconnectionDelay: 100,
  reconnectionDelayMax: 200,
  randomizationFactor: 0,
  timeout: 5000,
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the arguments of the next `event` on `emitter`. */
export function waitEvent(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

/**
 * The clients of one test: `new Clients(t)` closes them all when the test ends
 * (passes, fails or times out). Once closed, opening another client throws, so
 * a test body still running after its timeout cannot leave a client behind.
 */
export class Clients {
  constructor(t) {
    this.closers = [];
    this.closed = false;
    t.after(() => this.closeAll());
    t.signal.addEventListener('abort', () => this.closeAll(), { once: true });
  }

  _push(close) {
    if (this.closed) {
      close();
      throw new Error('test already finished');
    }
    this.closers.push(close);
  }

  /** Closes `socket` (and its manager's engine.io connection) at the end of the test. */
  own(socket) {
    this._push(() => {
      socket.disconnect();
      socket.io.engine?.close();
    });
    return socket;
  }

  /**
   * Connects a client of `kind` to namespace `nsp`; resolves once connected
   * (and, for the default kind, once upgraded to WebSocket).
   * Returns { socket, auth: Promise<args of the server's `auth` event>, handshake: Promise<open packet> }.
   */
  async connect(kind, nsp = '/', opts = {}) {
    const socket = this.own(io(SERVER_URL + nsp, { ...BASE_OPTS, ...KINDS[kind], ...opts }));
    return this._ready(kind, socket, socket.io);
  }

  /** A Manager (one engine.io connection) for multiplexing several namespaces. */
  manager(kind, opts = {}) {
    const manager = new Manager(SERVER_URL, { ...BASE_OPTS, ...KINDS[kind], ...opts });
    this._push(() => {
      for (const s of Object.values(manager.nsps)) s.disconnect();
      manager.engine?.close();
    });
    return manager;
  }

  /** Opens `nsp` on `manager` (first socket of the manager: waits like `connect`). */
  async socketOn(kind, manager, nsp, opts = {}) {
    if (this.closed) throw new Error('test already finished');
    const socket = manager.socket(nsp, opts);
    return this._ready(kind, socket, manager);
  }

  async _ready(kind, socket, manager) {
    const auth = waitEvent(socket, 'auth');
    const engine = manager.engine;
    assert.ok(engine, 'the manager opens its engine.io connection right away');
    const handshake = engine.readyState === 'open' ? null : waitEvent(engine, 'handshake').then(([h]) => h);
    const upgraded =
      kind === 'default' && engine.transport?.name !== 'websocket'
        ? new Promise((resolve, reject) => {
            engine.once('upgrade', resolve);
            engine.once('upgradeError', (err) => reject(new Error(`upgradeError: ${err?.message ?? err}`)));
          })
        : null;
    await within(
      5000,
      new Promise((resolve, reject) => {
        if (socket.connected) return resolve();
        socket.once('connect', resolve);
        socket.once('connect_error', (err) => reject(new Error(`connect_error: ${err?.message ?? err}`)));
      }),
      `${kind} client did not connect to ${socket.nsp}`,
    );
    if (upgraded) await within(5000, upgraded, 'no upgrade to websocket');
    if (kind !== 'polling') assert.equal(engine.transport.name, 'websocket');
    else assert.equal(engine.transport.name, 'polling');
    return { socket, auth, handshake };
  }

  /** socket.connect() again, unless the test has already finished. */
  reconnect(socket) {
    if (this.closed) throw new Error('test already finished');
    socket.connect();
  }

  closeAll() {
    this.closed = true;
    for (const close of this.closers.splice(0)) {
      try {
        close();
      } catch {
        /* already closed */
      }
    }
  }
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

/** Emits `event` with args and an ack; resolves with the ack's arguments (5 s timeout). */
export function emitAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...answer) => {
      if (err) reject(new Error(`no ack for ${event}: ${err.message}`));
      else resolve(answer);
    });
  });
}

/** Converts every binary value (ArrayBuffer, typed array) inside `v` to a Buffer, recursively. */
export function normalize(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

/** Records every `event` a socket receives, and waits for counts. */
export class Recorder extends EventEmitter {
  constructor(socket, events) {
    super();
    this.log = {};
    for (const ev of events) {
      this.log[ev] = [];
      socket.on(ev, (...args) => {
        this.log[ev].push(normalize(args));
        this.emit('change');
      });
    }
  }

  /** Resolves once `event` has been received `n` times in total (5 s at most). */
  waitCount(event, n) {
    const reached = (async () => {
      while (this.log[event].length < n) await new Promise((r) => this.once('change', r));
    })();
    return within(5000, reached, () => `\`${event}\` received ${this.log[event].length} times, expected ${n}`);
  }
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

/** fetch-sockets(room) on `socket`'s namespace: [{id, rooms, data}] sorted by id. */
export async function fetchSockets(socket, room = null) {
  const [list] = await emitAck(socket, 'fetch-sockets', room);
  return list;
}

/**
 * Waits until the namespace of `socket` holds exactly the sockets `ids` (sockets of an earlier
 * test may still be on their way out); returns the list.
 */
export async function waitForExactly(socket, ids) {
  const wanted = [...ids].sort();
  const settled = (async () => {
    for (;;) {
      const list = await fetchSockets(socket);
      if (JSON.stringify(list.map((s) => s.id)) === JSON.stringify(wanted)) return list;
      await sleep(20);
    }
  })();
  return within(5000, settled, `the namespace never held exactly ${wanted.join(', ')}`);
}
