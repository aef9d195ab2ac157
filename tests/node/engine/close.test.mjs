// engine.io-client against the echo server: the client sees a server-side
// close (`close-me` hook), and stays connected across heartbeats.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Clients, MODES, TEST_TIMEOUT, echo, sleep, within } from './helpers.mjs';

/** Heartbeat test runs only when the server pings this often (run.mjs --reference starts it so). */
const MAX_PING_INTERVAL_FOR_TEST = 2000;

for (const mode of Object.keys(MODES)) {
  describe(`engine.io ${mode}`, () => {
    test('server-side close is seen by the client as "transport close"', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.open(mode);
      assert.equal(await echo(socket, 'before'), 'before');
      const closed = new Promise((resolve) => socket.once('close', (reason, description) => resolve({ reason, description })));
      let messagesAfter = 0;
      socket.on('message', () => messagesAfter++);
      socket.send('close-me');
      const { reason, description } = await within(5000, closed, 'the client saw no close after `close-me`');
      assert.equal(reason, 'transport close');
      assert.ok(description, 'close event carries a description');
      assert.equal(socket.readyState, 'closed');
      assert.equal(messagesAfter, 0, '`close-me` is not echoed');
    });

    test('a closed session id is not reusable: a new client gets a new id', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.open(mode);
      const firstId = socket.id;
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.send('close-me');
      await within(5000, closed, 'the client saw no close after `close-me`');
      const { socket: again } = await clients.open(mode);
      assert.notEqual(again.id, firstId);
      assert.equal(await echo(again, 'still works'), 'still works');
    });

    test('stays open across several heartbeats (ping/pong)', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, handshake } = await clients.open(mode);
      assert.ok(
        handshake.pingInterval <= MAX_PING_INTERVAL_FOR_TEST,
        `server pingInterval ${handshake.pingInterval} ms > ${MAX_PING_INTERVAL_FOR_TEST} ms: start it with --ping-interval 500`,
      );
      let pings = 0;
      socket.on('ping', () => pings++);
      let closedWith = null;
      socket.on('close', (reason) => (closedWith = reason));
      await sleep(handshake.pingInterval * 3 + 300);
      assert.equal(closedWith, null, `closed during heartbeats: ${closedWith}`);
      assert.ok(pings >= 2, `expected at least 2 pings in ${handshake.pingInterval * 3 + 300} ms, got ${pings}`);
      assert.equal(await echo(socket, 'alive'), 'alive');
    });
  });
}
