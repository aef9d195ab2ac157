// engine.io-client against the echo server: handshake, text/binary echo and
// ordering, for polling only, WebSocket only, and polling then upgrade.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import { Clients, SERVER_URL, MODES, TEST_TIMEOUT, echo, nextMessages, bytes, pattern, waitUpgrade } from './helpers.mjs';

for (const mode of Object.keys(MODES)) {
  describe(`engine.io ${mode}`, () => {
    test('handshake', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket, handshake, openTransport } = await clients.open(mode);
      assert.ok(handshake, 'no handshake (open packet) seen');
      assert.equal(typeof handshake.sid, 'string');
      assert.equal(handshake.sid.length, 20, `sid ${JSON.stringify(handshake.sid)} should be 20 chars (as engine.io's base64id)`);
      assert.equal(socket.id, handshake.sid);
      assert.ok(Number.isInteger(handshake.pingInterval) && handshake.pingInterval > 0, `pingInterval ${handshake.pingInterval}`);
      assert.ok(Number.isInteger(handshake.pingTimeout) && handshake.pingTimeout > 0, `pingTimeout ${handshake.pingTimeout}`);
      assert.ok(Number.isInteger(handshake.maxPayload) && handshake.maxPayload > 0, `maxPayload ${handshake.maxPayload}`);
      assert.ok(Array.isArray(handshake.upgrades), 'upgrades should be an array');
      if (mode === 'websocket') {
        assert.equal(openTransport, 'websocket');
        assert.deepEqual(handshake.upgrades, [], 'no upgrades offered on a WebSocket handshake');
      } else {
        assert.equal(openTransport, 'polling');
        assert.deepEqual(handshake.upgrades, ['websocket'], 'a polling handshake offers the websocket upgrade');
      }
      assert.equal(socket.transport.name, mode === 'polling' ? 'polling' : 'websocket');
      assert.equal(socket.readyState, 'open');
    });

    test('text echo', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.open(mode);
      for (const text of ['hello', 'héllo wörld ✓ 🌍', '{"json":[1,2,3]}', 'line1\nline2\r\n', '4not-a-packet', 'b64?']) {
        const got = await echo(socket, text);
        assert.equal(typeof got, 'string', `echo of ${JSON.stringify(text)} should be text`);
        assert.equal(got, text);
      }
    });

    test('binary echo is byte-exact (Uint8Array, Buffer, ArrayBuffer)', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.open(mode);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      assert.deepEqual(bytes(await echo(socket, all)), Buffer.from(all));
      const buf = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x1e, 0x0a, 0x62]);
      assert.deepEqual(bytes(await echo(socket, buf)), buf);
      const ab = pattern(33, 7);
      const arrayBuffer = ab.buffer.slice(ab.byteOffset, ab.byteOffset + ab.length);
      assert.deepEqual(bytes(await echo(socket, arrayBuffer)), ab);
      const one = Buffer.from([0x42]);
      assert.deepEqual(bytes(await echo(socket, one)), one);
    });

    test('large text and binary echo (100 KiB)', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.open(mode);
      const big = pattern(100 * 1024, 3);
      assert.deepEqual(bytes(await echo(socket, big)), big);
      const text = 'abcdefghij'.repeat(10 * 1024) + 'é';
      assert.equal(await echo(socket, text), text);
    });

    test('many messages, text and binary mixed, echoed in order', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const { socket } = await clients.open(mode);
      const sent = [];
      for (let i = 0; i < 60; i++) sent.push(i % 3 === 2 ? pattern(10 + i, i + 1) : `msg ${i}`);
      const p = nextMessages(socket, sent.length);
      for (const m of sent) socket.send(m);
      const got = await p;
      got.forEach((g, i) => {
        if (typeof sent[i] === 'string') assert.equal(g, sent[i], `message ${i}`);
        else assert.deepEqual(bytes(g), sent[i], `message ${i}`);
      });
    });

    test('two clients each get only their own echoes', { timeout: TEST_TIMEOUT }, async (t) => {
      const clients = new Clients(t);
      const [{ socket: a }, { socket: b }] = await Promise.all([clients.open(mode), clients.open(mode)]);
      assert.notEqual(a.id, b.id);
      const pa = nextMessages(a, 10);
      const pb = nextMessages(b, 10);
      for (let i = 0; i < 10; i++) {
        a.send(`a${i}`);
        b.send(`b${i}`);
      }
      assert.deepEqual(await pa, Array.from({ length: 10 }, (_, i) => `a${i}`));
      assert.deepEqual(await pb, Array.from({ length: 10 }, (_, i) => `b${i}`));
    });
  });
}

describe('engine.io polling then upgrade', () => {
  test('upgrade event fires and the transport becomes websocket', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const { socket, openTransport } = await clients.open('polling', { transports: ['polling', 'websocket'] });
    assert.equal(openTransport, 'polling');
    const transport = await waitUpgrade(socket);
    assert.equal(transport.name, 'websocket');
    assert.equal(socket.transport.name, 'websocket');
    assert.equal(await echo(socket, 'after upgrade'), 'after upgrade');
  });

  test('messages sent before, during and after the upgrade arrive in order', { timeout: TEST_TIMEOUT }, async (t) => {
    const clients = new Clients(t);
    const socket = clients.add(new Socket(SERVER_URL, { path: '/engine.io/', transports: ['polling', 'websocket'] }));
    const upgraded = waitUpgrade(socket);
    const sent = [];
    const send = (m) => {
      sent.push(m);
      socket.send(m);
    };
    const all = nextMessages(socket, 20);
    // queued before the handshake, sent on polling, sent while probing, sent after
    for (let i = 0; i < 5; i++) send(`early ${i}`);
    socket.once('open', () => {
      for (let i = 0; i < 5; i++) send(i % 2 ? pattern(20, i + 1) : `open ${i}`);
    });
    socket.once('upgrading', () => {
      for (let i = 0; i < 5; i++) send(`upgrading ${i}`);
    });
    await upgraded;
    for (let i = 0; i < 5; i++) send(i % 2 ? `after ${i}` : pattern(30, i + 9));
    const got = await all;
    assert.equal(socket.transport.name, 'websocket');
    assert.equal(sent.length, 20);
    got.forEach((g, i) => {
      if (typeof sent[i] === 'string') assert.equal(g, sent[i], `message ${i}`);
      else assert.deepEqual(bytes(g), sent[i], `message ${i}`);
    });
  });
});
