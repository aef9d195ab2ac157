// The chapter in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens our server's page, as a reader does with `cargo run` and
// http://localhost:8005, and checks what the book says they will see: `Hello Socket.IO` in the
// console every 3 s, polling then the WebSocket in the network tab, the connection, the replies
// and the disconnect in the server's log; and that the `news` timer thread of the socket ends.
//
//   node --test tests/browser/chapter.test.mjs     (tests/browser.rs runs it under `cargo test`)
//
// Each case starts its own server (`--port 0 --trace`, news every 3000 ms, the default) and
// its own browser context; the cases run in parallel in one Chromium. Screenshots, server logs
// and page consoles go to target/browser-screenshots/ (see support.mjs for the paths).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS,
  CHROMIUM,
  OFFICIAL_BUNDLE,
  Server,
  escapeRegExp,
  newsThreadName,
  playwright,
  record,
  waitFor,
} from './support.mjs';

const NEWS = 'Hello Socket.IO';
const REPLY = 'Hello Node.JS';
const NEWS_TRACE = '→ 42["news","Hello Socket.IO"]';
const CASE_TIMEOUT = 100_000;

let browser;

/**
 * Runs `body(ctx)` with a fresh context and page; on failure, the server logs and the page's
 * console and network are added to the error. Logs are saved as artifacts either way.
 */
async function withPage(name, body) {
  const context = await browser.newContext({ viewport: { width: 800, height: 520 } });
  const page = await context.newPage();
  const rec = record(page);
  const ctx = { page, rec, servers: [] };
  try {
    await body(ctx);
  } catch (error) {
    const logs = ctx.servers.map((s, i) => `--- server ${i + 1} log (${s.argv}) ---\n${s.log()}`).join('\n');
    // A new error: its stack (what the reporter prints) then carries the logs too.
    throw new Error(`[${name}] ${error.message}\n\n${logs}\n${rec.dump()}`, { cause: error });
  } finally {
    const logs = ctx.servers.map((s, i) => `--- server ${i + 1} (${s.argv}) ---\n${s.log()}`).join('\n');
    fs.writeFileSync(path.join(ARTIFACTS, `${name}.log`), `${logs}\n${rec.dump()}\n`);
    await context.close().catch(() => {});
    await Promise.all(ctx.servers.map((s) => s.kill()));
  }
}

async function startServer(ctx, options) {
  const server = await Server.start(options);
  ctx.servers.push(server);
  return server;
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
 * Cases 1 to 4: the chapter's page with `client` (`ours` or `official`), default transports or
 * `?transports=websocket`.
 */
async function chapter(name, { client, websocketOnly }) {
  await withPage(name, async (ctx) => {
    const { page, rec } = ctx;
    const args = client === 'official' ? ['--client-script', OFFICIAL_BUNDLE] : [];
    const server = await startServer(ctx, { args });
    const threadsBefore = server.threads();

    await page.goto(`${server.origin}/${websocketOnly ? '?transports=websocket' : ''}`);

    // Console: Hello Socket.IO, at least twice (one every 3 s: wait up to 25 s).
    await waitFor(`"${NEWS}" twice in the page's console`, () => rec.count(NEWS) >= 2, 25_000);
    const socketId = await page.evaluate(() => socket.id);
    assert.match(socketId, /^[\w-]{20}$/, `the page's socket.id: ${socketId}`);

    // Server log: the connection with the IP and the socket id, then each reply.
    await server.waitForLog(new RegExp(`^새로운 클라이언트 접속! 127\\.0\\.0\\.1 ${escapeRegExp(socketId)}$`), 5_000);
    await server.waitForLog(new RegExp(`^reply from ${escapeRegExp(socketId)}: ${REPLY}$`), 10_000);

    // The ~3 s spacing, from the server's own timestamps of the news packets it sent.
    const sid = sessionOf(server, socketId);
    const times = await waitFor('two news packets in the trace', () => {
      const t = newsTimes(server, sid);
      return t.length >= 2 && t;
    }, 10_000);
    const gaps = times.slice(1).map((t, i) => Math.round(t - times[i]));
    for (const gap of gaps) assert.ok(gap >= 2500 && gap <= 3500, `news ${gaps.join(', ')} ms apart (expected ~3000)`);

    // Network tab.
    const polling = rec.requests.filter((r) => r.url.includes('/socket.io/?EIO=4&transport=polling'));
    const websockets = rec.websockets.filter((w) => w.url.includes('/socket.io/?EIO=4&transport=websocket'));
    assert.equal(websockets.length, 1, `one WebSocket to /socket.io/?EIO=4&transport=websocket`);
    const ws = websockets[0];
    const wsSid = new URL(ws.url).searchParams.get('sid');
    if (websocketOnly) {
      assert.equal(polling.length, 0, `no request to transport=polling with transports: ['websocket']`);
      assert.equal(rec.requests.filter((r) => r.url.includes('transport=polling')).length, 0);
      assert.equal(wsSid, null, 'a WebSocket-only connection opens without a sid');
      assert.match(ws.received[0] ?? '', /^0\{"sid":"[^"]+","upgrades":\[\]/, 'its first frame is the handshake');
    } else {
      assert.ok(polling.length >= 2, `polling requests first (${polling.length})`);
      assert.ok(polling.some((r) => r.method === 'POST'), 'a polling POST (the CONNECT 40)');
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

    // Close the page: the server logs the disconnect and the socket's timer thread ends.
    const newsThread = newsThreadName(socketId);
    assert.ok(server.threads().includes(newsThread), `thread "${newsThread}" while connected: ${server.threads().join(', ')}`);
    await page.close();
    await server.waitForLog(new RegExp(`^클라이언트 접속 해제 127\\.0\\.0\\.1 ${escapeRegExp(socketId)} \\(.+\\)$`), 10_000);
    await waitFor(`thread "${newsThread}" to end`, () => !server.threads().includes(newsThread), 10_000).catch((e) => {
      throw new Error(`${e.message}; threads: ${server.threads().join(', ')}`);
    });
    // The connections' threads end too, once Chromium drops them or the 5 s keep-alive expires.
    await waitFor(`the thread count to return to ${threadsBefore.length}`, () => server.threads().length === threadsBefore.length, 20_000).catch((e) => {
      throw new Error(`${e.message}; before: ${threadsBefore.join(', ')}; now: ${server.threads().join(', ')}`);
    });
    assert.equal(rec.console.filter((l) => l.startsWith('PAGEERROR')).length, 0, 'no page errors');
  });
}

/** Case 5: the server is killed and a new one starts on the same port; the page reconnects. */
async function restart(name, { client }) {
  await withPage(name, async (ctx) => {
    const { page, rec } = ctx;
    const args = client === 'official' ? ['--client-script', OFFICIAL_BUNDLE] : [];
    const first = await startServer(ctx, { args });
    await page.goto(`${first.origin}/`);
    await waitFor(`"${NEWS}" in the console`, () => rec.count(NEWS) >= 1, 20_000);
    const firstId = await page.evaluate(() => socket.id);
    await first.waitForLog(new RegExp(`^새로운 클라이언트 접속! 127\\.0\\.0\\.1 ${escapeRegExp(firstId)}$`), 5_000);

    await first.kill('SIGKILL');
    await waitFor('the page to see the disconnect', async () => (await page.textContent('#status')).includes('연결 끊김'), 10_000);
    const newsBefore = rec.count(NEWS);

    const second = await startServer(ctx, { args, port: first.port, retryFor: 10_000 });
    assert.equal(second.port, first.port);
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
    browser = await playwright().chromium.launch({
      executablePath: CHROMIUM,
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
});
