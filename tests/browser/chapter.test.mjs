// The chapter in a real browser: headless Chromium or Chrome (CHROME, else chromium,
// chromium-browser or google-chrome on PATH; driven by playwright-core) opens our server's page,
// as a reader does with `cargo run` and
// http://localhost:8005, and checks what the book says they will see: `Hello Socket.IO` in the
// console every 3 s, polling then the WebSocket in the network tab, the connection, the replies
// and the disconnect in the server's log; and that clearInterval ends the socket's `news` timer
// thread at the disconnect. /socket.io/socket.io.js must be, byte for byte, the client the case
// asks for (ours, or the official bundle through `--client-script`).
//
//   node --test tests/browser/chapter.test.mjs     (tests/browser.rs runs it under `cargo test`)
//
// Each case starts its own server (`--port 0 --trace`, news every 3000 ms, the default) and
// its own browser context; the cases run in parallel in one Chromium. Screenshots (also
// `<case>-failed.png` when a case fails with its page open), server logs and page consoles go to
// target/browser-screenshots/ (see support.mjs for the paths).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS,
  CHROME,
  OFFICIAL_BUNDLE,
  OUR_CLIENT,
  V2_BUNDLE,
  Server,
  escapeRegExp,
  newsThreadName,
  playwright,
  sleep,
  waitFor,
  withPage as withPageOf,
} from './support.mjs';

const NEWS = 'Hello Socket.IO';
const REPLY = 'Hello Node.JS';
const NEWS_TRACE = '→ 42["news","Hello Socket.IO"]';
const CASE_TIMEOUT = 100_000;

let browser;

/** `withPage` of support.mjs, with this file's browser and viewport. */
const withPage = (name, body) => withPageOf(browser, name, { width: 800, height: 520 }, body);

async function startServer(ctx, options) {
  const server = await Server.start(options);
  ctx.servers.push(server);
  return server;
}

/** The client script of `client`: `ours`, `official` (socket.io-client 4.x) or `v2` (2.x). */
const CLIENT_FILES = { ours: OUR_CLIENT, official: OFFICIAL_BUNDLE, v2: V2_BUNDLE };

/** The server's arguments for `client` (a 2.x client needs `--allow-eio3`). */
function clientArgs(client) {
  if (client === 'ours') return [];
  return ['--client-script', CLIENT_FILES[client], ...(client === 'v2' ? ['--allow-eio3'] : [])];
}

/**
 * What the page loads as /socket.io/socket.io.js must be, byte for byte, the file of `client`:
 * an official bundle the test passes with `--client-script`, or our www/socket.io.js.
 */
async function assertServesClient(server, client) {
  const file = CLIENT_FILES[client];
  const expected = fs.readFileSync(file);
  const response = await fetch(`${server.origin}/socket.io/socket.io.js`);
  assert.equal(response.status, 200, 'GET /socket.io/socket.io.js');
  const served = Buffer.from(await response.arrayBuffer());
  assert.ok(
    served.equals(expected),
    `/socket.io/socket.io.js is not ${file}: ${served.length} bytes served, ${expected.length} in the file`,
  );
}

/** The Engine.IO session id of socket `socketId`: the session whose trace sent it `40{"sid":...}`. */
function sessionOf(server, socketId) {
  const line = server.find(new RegExp(`^(\\S+) → 40\\{"sid":"${escapeRegExp(socketId)}"\\}`))[0];
  assert.ok(line, `no trace line "→ 40{"sid":"${socketId}"}" in the server log`);
  return line.match[1];
}

/** The times (ms, from the log's timestamps) at which session `sid` was sent `news`. */
function newsTimes(server, sid) {
  return server.find(new RegExp(`^${escapeRegExp(sid)} ${escapeRegExp(NEWS_TRACE)}`)).map((l) => l.t);
}

/**
 * Cases 1 to 4 and 6: the chapter's page with `client` (`ours`, `official` or `v2`), default
 * transports or `?transports=websocket`. A 2.x client speaks Engine.IO v3 (`EIO=3`) and
 * Socket.IO protocol v4: it sends no CONNECT for `/`, the server answers a bare `40`, and its
 * socket id is the Engine.IO session id.
 */
async function chapter(name, { client, websocketOnly }) {
  await withPage(name, async (ctx) => {
    const { page, rec } = ctx;
    const server = await startServer(ctx, { args: clientArgs(client) });
    const threadsBefore = server.threads();

    await page.goto(`${server.origin}/${websocketOnly ? '?transports=websocket' : ''}`);
    await assertServesClient(server, client);

    // Console: Hello Socket.IO, at least twice (one every 3 s: wait up to 25 s).
    await waitFor(`"${NEWS}" twice in the page's console`, () => rec.count(NEWS) >= 2, 25_000);
    const socketId = await page.evaluate(() => socket.id);
    assert.match(socketId, /^[\w-]{20}$/, `the page's socket.id: ${socketId}`);

    // Server log: the connection with the IP and the socket id, then each reply.
    await server.waitForLog(new RegExp(`^새로운 클라이언트 접속! 127\\.0\\.0\\.1 ${escapeRegExp(socketId)}$`), 5_000);
    await server.waitForLog(new RegExp(`^reply from ${escapeRegExp(socketId)}: ${REPLY}$`), 10_000);

    // The ~3 s spacing, from the server's own timestamps of the news packets it sent.
    const v2 = client === 'v2';
    const sid = v2 ? socketId : sessionOf(server, socketId);
    if (v2) {
      assert.ok(server.find(new RegExp(`^${escapeRegExp(sid)} → 40 `)).length > 0, `a bare "→ 40" to ${sid} in the trace`);
      assert.equal(server.find(new RegExp(`^${escapeRegExp(sid)} ← 40`)).length, 0, 'no CONNECT from a 2.x client on /');
    }
    const times = await waitFor('two news packets in the trace', () => {
      const t = newsTimes(server, sid);
      return t.length >= 2 && t;
    }, 10_000);
    const gaps = times.slice(1).map((t, i) => Math.round(t - times[i]));
    for (const gap of gaps) assert.ok(gap >= 2500 && gap <= 3500, `news ${gaps.join(', ')} ms apart (expected ~3000)`);

    // Network tab.
    const eio = v2 ? 3 : 4;
    const polling = rec.requests.filter((r) => r.url.includes(`/socket.io/?EIO=${eio}&transport=polling`));
    const websockets = rec.websockets.filter((w) => w.url.includes(`/socket.io/?EIO=${eio}&transport=websocket`));
    assert.equal(websockets.length, 1, `one WebSocket to /socket.io/?EIO=${eio}&transport=websocket`);
    const ws = websockets[0];
    const wsSid = new URL(ws.url).searchParams.get('sid');
    if (websocketOnly) {
      assert.equal(polling.length, 0, `no request to transport=polling with transports: ['websocket']`);
      assert.equal(rec.requests.filter((r) => r.url.includes('transport=polling')).length, 0);
      assert.equal(wsSid, null, 'a WebSocket-only connection opens without a sid');
      assert.match(ws.received[0] ?? '', /^0\{"sid":"[^"]+","upgrades":\[\]/, 'its first frame is the handshake');
    } else {
      assert.ok(polling.length >= 2, `polling requests first (${polling.length})`);
      // (A 2.x client has nothing to POST before the upgrade: no CONNECT for /.)
      if (!v2) assert.ok(polling.some((r) => r.method === 'POST'), 'a polling POST (the CONNECT 40)');
      assert.ok(polling[0].seq < ws.seq, 'polling before the WebSocket');
      assert.equal(polling[0].method, 'GET');
      assert.equal(new URL(polling[0].url).searchParams.get('sid'), null, 'the first GET is the handshake');
      assert.equal(wsSid, sid, 'the WebSocket carries the sid of the polling session (...transport=websocket&sid=...)');
      assert.deepEqual(ws.sent.slice(0, 2), ['2probe', '5'], 'the upgrade: 2probe, then 5');
      assert.equal(ws.received[0], '3probe');
    }
    assert.ok(ws.received.includes(`42["news","${NEWS}"]`), `the WebSocket received news frames (${ws.received.length} frames)`);
    assert.ok(ws.sent.includes(`42["reply","${REPLY}"]`), 'and sent the replies');

    // The page says which transport it uses.
    await waitFor('#transport to say websocket', async () => (await page.textContent('#transport')) === 'websocket', 10_000);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

    // Close the page: the server logs the disconnect and clearInterval ends the socket's timer
    // thread at once. Without clearInterval the thread would still end by itself, at its next
    // tick, when the emit fails; so the page is closed just after a news packet, and the thread
    // must be gone well before that next tick (3 s after the last news): then it was the
    // disconnect that ended it, however long a busy machine took to deliver the close.
    const newsThread = newsThreadName(socketId);
    assert.ok(server.threads().includes(newsThread), `thread "${newsThread}" while connected: ${server.threads().join(', ')}`);
    const newsSent = newsTimes(server, sid).length;
    const lastNews = await waitFor('one more news packet, to close the page just after it', () => {
      const t = newsTimes(server, sid);
      return t.length > newsSent && t.at(-1);
    }, 10_000);
    await page.close();
    const disconnect = await server.waitForLog(new RegExp(`^클라이언트 접속 해제 127\\.0\\.0\\.1 ${escapeRegExp(socketId)} \\(.+\\)$`), 10_000);
    const deadline = lastNews + 2700;
    assert.ok(disconnect.t < deadline, `the disconnect came ${Math.round(disconnect.t - lastNews)} ms after the last news (the thread must be seen gone before the next tick, 3,000 ms after it)`);
    while (server.threads().includes(newsThread)) {
      if (Date.now() > deadline) {
        throw new Error(`thread "${newsThread}" still runs ${Math.round(Date.now() - disconnect.t)} ms after the disconnect, ${Math.round(Date.now() - lastNews)} ms after the last news (clearInterval must end it at once); threads: ${server.threads().join(', ')}`);
      }
      await sleep(20);
    }
    // The connections' threads end too, once Chromium drops them or the 5 s keep-alive expires.
    await waitFor(`the thread count to return to ${threadsBefore.length}`, () => server.threads().length === threadsBefore.length, 20_000).catch((e) => {
      throw new Error(`${e.message}; before: ${threadsBefore.join(', ')}; now: ${server.threads().join(', ')}`);
    });
    assert.equal(rec.console.filter((l) => l.startsWith('PAGEERROR')).length, 0, 'no page errors');
  });
}

/**
 * Case 6c: JSONP polling, which the reference serves whenever the query has `j`: on the page
 * with the 2.x bundle, a second socket with `forceJSONP` loads its answers as `<script>` tags
 * (`___eio[N]("...")`) and posts through a hidden form (`d=...`); it gets `news` and its
 * replies reach the server.
 */
async function jsonp(name) {
  await withPage(name, async (ctx) => {
    const { page, rec } = ctx;
    const server = await startServer(ctx, { args: clientArgs('v2') });
    await page.goto(`${server.origin}/`);
    await assertServesClient(server, 'v2');
    const id = await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const jsonpSocket = io.connect(location.origin, {
            path: '/socket.io',
            forceNew: true,
            forceJSONP: true,
            transports: ['polling'],
          });
          window.jsonpSocket = jsonpSocket;
          jsonpSocket.on('news', (data) => jsonpSocket.emit('reply', `over JSONP: ${data}`));
          jsonpSocket.on('connect', () => resolve(jsonpSocket.id));
          setTimeout(() => reject(new Error('no connect over JSONP within 10 s')), 10_000);
        }),
    );
    assert.match(id, /^[\w-]{20}$/, `the JSONP socket's id: ${id}`);
    await server.waitForLog(new RegExp(`^새로운 클라이언트 접속! 127\\.0\\.0\\.1 ${escapeRegExp(id)}$`), 5_000);
    await server.waitForLog(new RegExp(`^reply from ${escapeRegExp(id)}: over JSONP: ${NEWS}$`), 10_000);
    // The browser's request events reach this process after the server may have logged the
    // reply: wait for them rather than read them once.
    const ofSession = (method) =>
      rec.requests.filter((r) => r.method === method && r.url.includes('transport=polling') && r.url.includes('&j='));
    await waitFor('JSONP GETs (script tags with j=)', () => ofSession('GET').length >= 2, 5_000);
    await waitFor('a JSONP POST (the form)', () => ofSession('POST').length >= 1, 5_000);
    assert.equal(await page.evaluate(() => window.jsonpSocket.io.engine.transport.query.j !== undefined), true);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
    assert.equal(rec.console.filter((l) => l.startsWith('PAGEERROR')).length, 0, 'no page errors');
  });
}

/** Case 5: the server is killed and a new one starts on the same port; the page reconnects. */
async function restart(name, { client }) {
  await withPage(name, async (ctx) => {
    const { page, rec } = ctx;
    const args = clientArgs(client);
    const first = await startServer(ctx, { args });
    await page.goto(`${first.origin}/`);
    await assertServesClient(first, client);
    await waitFor(`"${NEWS}" in the console`, () => rec.count(NEWS) >= 1, 20_000);
    const firstId = await page.evaluate(() => socket.id);
    await first.waitForLog(new RegExp(`^새로운 클라이언트 접속! 127\\.0\\.0\\.1 ${escapeRegExp(firstId)}$`), 5_000);

    await first.kill('SIGKILL');
    await waitFor('the page to see the disconnect', async () => (await page.textContent('#status')).includes('연결 끊김'), 10_000);
    const newsBefore = rec.count(NEWS);

    const second = await startServer(ctx, { args, port: first.port, retryFor: 10_000 });
    assert.equal(second.port, first.port);
    await assertServesClient(second, client);
    const connected = await second.waitForLog(/^새로운 클라이언트 접속! 127\.0\.0\.1 (\S+)$/, 30_000);
    const secondId = connected.match[1];
    assert.notEqual(secondId, firstId, 'a new socket');
    await waitFor(`"${NEWS}" again in the console`, () => rec.count(NEWS) > newsBefore, 10_000);
    await waitFor(`the page's socket.id to be ${secondId}`, async () => (await page.evaluate(() => socket.id)) === secondId, 5_000);
    await second.waitForLog(new RegExp(`^reply from ${escapeRegExp(secondId)}: ${REPLY}$`), 10_000);
    await waitFor('#transport to say websocket', async () => (await page.textContent('#transport')) === 'websocket', 10_000);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
    assert.equal(rec.console.filter((l) => l.startsWith('PAGEERROR')).length, 0, 'no page errors');
  });
}

describe('the chapter in Chromium', { concurrency: true }, () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // Else comparing what the server serves with either file could not tell them apart.
    assert.ok(!fs.readFileSync(OUR_CLIENT).equals(fs.readFileSync(OFFICIAL_BUNDLE)), 'our client differs from the official bundle');
    assert.ok(!fs.readFileSync(V2_BUNDLE).equals(fs.readFileSync(OFFICIAL_BUNDLE)), 'the 2.x bundle differs from the 4.x one');
    browser = await playwright().chromium.launch({
      executablePath: CHROME,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
  });

  it('1. our client: news, polling then WebSocket, reply, disconnect', { timeout: CASE_TIMEOUT }, () =>
    chapter('1-ours-default', { client: 'ours', websocketOnly: false }));
  it('2. our client, ?transports=websocket: no polling', { timeout: CASE_TIMEOUT }, () =>
    chapter('2-ours-websocket', { client: 'ours', websocketOnly: true }));
  it('3. official socket.io-client bundle: the same', { timeout: CASE_TIMEOUT }, () =>
    chapter('3-official-default', { client: 'official', websocketOnly: false }));
  it('4. official bundle, ?transports=websocket: no polling', { timeout: CASE_TIMEOUT }, () =>
    chapter('4-official-websocket', { client: 'official', websocketOnly: true }));
  it('5. our client reconnects when the server restarts on the same port', { timeout: CASE_TIMEOUT }, () =>
    restart('5-ours-restart', { client: 'ours' }));
  it('5b. the official bundle reconnects too', { timeout: CASE_TIMEOUT }, () =>
    restart('5b-official-restart', { client: 'official' }));
  it('6. socket.io-client 2.x bundle, server with --allow-eio3: the same over Engine.IO v3', { timeout: CASE_TIMEOUT }, () =>
    chapter('6-v2-default', { client: 'v2', websocketOnly: false }));
  it('6b. the 2.x bundle, ?transports=websocket', { timeout: CASE_TIMEOUT }, () =>
    chapter('6b-v2-websocket', { client: 'v2', websocketOnly: true }));
  it('6c. the 2.x bundle over JSONP polling', { timeout: CASE_TIMEOUT }, () => jsonp('6c-v2-jsonp'));
});
