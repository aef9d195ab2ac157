// Helpers for the socket.io 2.x client tests (socket.io-client@2.5.0, installed as
// `socket.io-client-v2`: Engine.IO v3, Socket.IO protocol v4) against the interop server at
// SERVER_URL started with --allow-eio3 (see reference/interop.mjs for its events and hooks).
import assert from 'node:assert/strict';
import io from 'socket.io-client-v2';
import { SERVER_URL, KINDS, waitEvent, within } from '../socketio/helpers.mjs';

// SERVER_URL, the test timeout, the three client kinds and the waits are the 4.x suite's.
export { SERVER_URL, TEST_TIMEOUT, KINDS, sleep, waitEvent, within } from '../socketio/helpers.mjs';

export const BASE_OPTS = {
  path: '/socket.io',
  forceNew: true,
  reconnectionDelay: 100,
  reconnectionDelayMax: 200,
  randomizationFactor: 0,
  timeout: 5000,
};

/** Emits `event` with args and an ack (2.x: the last argument); resolves with the ack's arguments. */
export function emitAck(socket, event, ...args) {
  return within(5000, new Promise((resolve) => socket.emit(event, ...args, (...answer) => resolve(answer))), `no ack for ${event}`);
}

/**
 * The clients of one test, all closed when it ends (passes, fails or times out).
 */
export class Clients {
  constructor(t) {
    this.sockets = [];
    t.after(() => this.closeAll());
  }

  /** A 2.x socket for `nsp` (not waited for). */
  open(kind, nsp = '/', opts = {}) {
    const socket = io(SERVER_URL + nsp, { ...BASE_OPTS, ...KINDS[kind], ...opts });
    this.sockets.push(socket);
    return socket;
  }

  /**
   * Connects a client of `kind` to `nsp`; resolves once connected (and, for the default kind,
   * upgraded), with the server's `auth` event (`socket.handshake.auth`) as a promise.
   */
  async connect(kind, nsp = '/', opts = {}) {
    const socket = this.open(kind, nsp, opts);
    const auth = waitEvent(socket, 'auth');
    await this.ready(kind, socket);
    return { socket, auth };
  }

  /** Another namespace on the same connection (`socket.io.socket(nsp)`), once connected. */
  async another(kind, first, nsp, opts = {}) {
    const socket = first.io.socket(nsp, opts);
    const auth = waitEvent(socket, 'auth');
    await this.ready(kind, socket);
    return { socket, auth };
  }

  async ready(kind, socket) {
    await within(
      5000,
      new Promise((resolve, reject) => {
        if (socket.connected) return resolve();
        socket.once('connect', resolve);
        socket.once('error', (err) => reject(new Error(`error: ${JSON.stringify(err)}`)));
        socket.once('connect_error', (err) => reject(new Error(`connect_error: ${err?.message ?? err}`)));
      }),
      `${kind} client did not connect to ${socket.nsp}`,
    );
    const engine = socket.io.engine;
    if (kind === 'default' && engine.transport.name !== 'websocket') {
      await within(5000, waitEvent(engine, 'upgrade'), 'no upgrade to websocket');
    }
    assert.equal(engine.transport.name, kind === 'polling' ? 'polling' : 'websocket');
  }

  closeAll() {
    for (const socket of this.sockets.splice(0)) {
      try {
        socket.close();
        socket.io.engine?.close();
      } catch {
        /* already closed */
      }
    }
  }
}
