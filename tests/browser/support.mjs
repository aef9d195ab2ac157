// Helpers of tests/browser/chapter.test.mjs: the chapter's server as a child process (its log
// parsed, its threads read from /proc), a recorder of what a page does (console, requests,
// WebSockets and their frames), and polling waits with deadlines.
//
// Paths, all overridable by env (tests/browser.rs sets the first two):
//   SOCKETIO_BOOK_BIN    the server binary      (default target/debug/socketio_book)
//   BROWSER_ARTIFACTS    screenshots and logs   (default target/browser-screenshots)
//   CHROME               the browser            (default: chromium, chromium-browser or google-chrome
//                                               on PATH, as tests/support/tools.rs finds it)
// tests/browser has no package.json: playwright-core and socket.io-client are resolved from
// tests/node/node_modules (`npm ci --prefix tests/node`, the README's set-up).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const NODE_DIR = path.join(ROOT, 'tests', 'node');
export const BIN = process.env.SOCKETIO_BOOK_BIN || path.join(ROOT, 'target', 'debug', 'socketio_book');
export const ARTIFACTS = process.env.BROWSER_ARTIFACTS || path.join(ROOT, 'target', 'browser-screenshots');
export const CHROME = process.env.CHROME || browserOnPath();
export const OFFICIAL_BUNDLE = path.join(NODE_DIR, 'node_modules', 'socket.io-client', 'dist', 'socket.io.js');
/** socket.io-client 2.5.0's browser bundle (Engine.IO v3: the server needs --allow-eio3). */
export const V2_BUNDLE = path.join(NODE_DIR, 'node_modules', 'socket.io-client-v2', 'dist', 'socket.io.js');
/** Our client, which the server serves as /socket.io/socket.io.js unless given `--client-script`. */
export const OUR_CLIENT = path.join(ROOT, 'www', 'socket.io.js');

/** The first of chromium, chromium-browser, google-chrome on PATH; throws with the install command. */
function browserOnPath() {
  const names = ['chromium', 'chromium-browser', 'google-chrome'];
  for (const name of names) {
    for (const dir of (process.env.PATH || '').split(path.delimiter)) {
      const candidate = path.join(dir, name);
      if (dir && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
  }
  throw new Error(
    `no browser: none of ${names.join(', ')} is on PATH and CHROME is not set; ` +
      'install Chromium with `sudo apt-get install -y chromium` (or set CHROME)',
  );
}

const requireFromNodeDir = createRequire(path.join(NODE_DIR, 'package.json'));
/** `playwright-core`, from tests/node/node_modules. */
export function playwright() {
  return requireFromNodeDir('playwright-core');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `fn` every 100 ms until it returns something truthy; throws after `timeout` ms. */
export async function waitFor(what, fn, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Milliseconds since the epoch of an RFC 3339 time with up to nanoseconds (`...:04.084335554Z`). */
export function parseRfc3339(text) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(text);
  if (!m) return NaN;
  const fraction = m[2] ? Number(`0.${m[2]}`) : 0;
  return Date.parse(m[1] + m[3]) + fraction * 1000;
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export { escapeRegExp };

// ---- the server ------------------------------------------------------------------------------

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
});

/**
 * One `socketio_book` process: `--host 127.0.0.1 --port PORT --trace --log-level info` plus
 * `args`. `lines` holds its stderr log, each `{ t, text }` (`t` from the line's RFC 3339 time,
 * `text` the rest after the level).
 */
export class Server {
  constructor(child, port) {
    this.child = child;
    this.port = port;
    this.pid = child.pid;
    this.origin = `http://127.0.0.1:${port}`;
  }

  /**
   * Starts a server and waits for `listening on`; on `port` busy retries for `retryFor` ms.
   * `bin` is another binary taking the same flags (e.g. the GIF chat example).
   */
  static async start({ port = 0, args = [], retryFor = 0, bin = BIN } = {}) {
    const end = Date.now() + retryFor;
    for (;;) {
      try {
        return await Server.#startOnce(bin, port, args);
      } catch (e) {
        if (Date.now() > end) throw e;
        await sleep(200);
      }
    }
  }

  static #startOnce(bin, port, args) {
    const argv = ['--host', '127.0.0.1', '--port', String(port), '--trace', '--log-level', 'info', ...args];
    return Server.startCommand([bin, ...argv]);
  }

  /**
   * Starts any server command (`[file, ...args]`, e.g. an example binary or `node` and a
   * reference script) and waits for its `listening on HOST:PORT` line on stdout.
   */
  static startCommand(command) {
    const [file, ...argv] = command;
    const env = { ...process.env };
    delete env.RUST_LOG;
    delete env.PORT;
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: ROOT });
    running.add(child);
    const raw = [];
    const lines = [];
    child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }));
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        raw.push(line);
        const m = /^(\S+) \[(\w+)\] (.*)$/.exec(line);
        if (m) lines.push({ t: parseRfc3339(m[1]), level: m[2], text: m[3] });
      }
    });
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /listening on [^\s:]+:(\d+)/.exec(out);
        if (m && !child.server) {
          const server = new Server(child, Number(m[1]));
          server.raw = raw;
          server.lines = lines;
          server.argv = command.join(' ');
          child.server = server;
          resolve(server);
        }
      });
      child.on('error', reject);
      child.exited.then(({ code, signal }) => {
        if (!child.server) {
          reject(new Error(`${command.join(' ')} exited (${code ?? signal}) before listening:\n${raw.join('\n')}`));
        }
      });
    });
  }

  /** The log lines whose text matches `re`, as `{ t, text, match }`. */
  find(re) {
    const out = [];
    for (const line of this.lines) {
      const match = re.exec(line.text);
      if (match) out.push({ ...line, match });
    }
    return out;
  }

  /** Waits for a log line matching `re`; returns it. */
  waitForLog(re, timeout = 15_000) {
    return waitFor(`server log line ${re}`, () => this.find(re)[0], timeout);
  }

  // The names of the server's threads (/proc/PID/task/*/comm, 15 bytes at most).
  threads() {
    const dir = `/proc/${this.pid}/task`;
    const names = [];
    for (const tid of fs.readdirSync(dir)) {
      try {
        names.push(fs.readFileSync(`${dir}/${tid}/comm`, 'utf8').trim());
      } catch {} // the thread ended meanwhile
    }
    return names;
  }

  /** The whole stderr log, for failure messages and artifacts. */
  log() {
    return this.raw.join('\n');
  }

  async kill(signal = 'SIGKILL') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.child.exited;
  }
}

/** Which name the chapter's timer thread of `socketId` shows in /proc (`news <id>`, 15 bytes). */
export const newsThreadName = (socketId) => `news ${socketId}`.slice(0, 15);

// ---- the page --------------------------------------------------------------------------------

/**
 * Records what `page` does: `console` (texts, page errors as `PAGEERROR ...`), `requests`
 * (`{ seq, url, method }`), `websockets` (`{ seq, url, sent, received }`, frames as strings).
 * `seq` orders requests and WebSockets among themselves.
 */
export function record(page) {
  let seq = 0;
  const rec = { console: [], requests: [], websockets: [] };
  page.on('console', (message) => rec.console.push(message.text()));
  page.on('pageerror', (error) => rec.console.push(`PAGEERROR ${error.message}`));
  page.on('request', (request) => rec.requests.push({ seq: seq++, url: request.url(), method: request.method() }));
  page.on('websocket', (ws) => {
    const socket = { seq: seq++, url: ws.url(), sent: [], received: [], closed: false };
    rec.websockets.push(socket);
    const text = (frame) => (typeof frame.payload === 'string' ? frame.payload : `<${frame.payload.length} bytes>`);
    ws.on('framesent', (frame) => socket.sent.push(text(frame)));
    ws.on('framereceived', (frame) => socket.received.push(text(frame)));
    ws.on('close', () => (socket.closed = true));
  });
  rec.count = (text) => rec.console.filter((line) => line === text).length;
  rec.dump = () =>
    [
      '--- page console ---',
      ...rec.console,
      '--- requests ---',
      ...rec.requests.map((r) => `${r.seq} ${r.method} ${r.url}`),
      '--- websockets ---',
      ...rec.websockets.map((w) => `${w.seq} ${w.url}\n  sent: ${JSON.stringify(w.sent.slice(0, 8))}\n  received: ${JSON.stringify(w.received.slice(0, 8))}`),
    ].join('\n');
  return rec;
}

// ---- one case ------------------------------------------------------------------------------------

/**
 * Screenshot of a failed case, `<name>-failed.png` beside the others; returns where it went, or
 * why there is none (a case that already closed its page has its earlier `<name>.png` only).
 */
async function failureScreenshot(page, name) {
  if (page.isClosed()) return 'none: the page was already closed';
  const file = path.join(ARTIFACTS, `${name}-failed.png`);
  try {
    await page.screenshot({ path: file });
    return file;
  } catch (e) {
    return `none: ${e.message}`;
  }
}

/**
 * Runs `body(ctx)` with a fresh context of `browser` (pages of `viewport`) and a page:
 * `ctx = { name, page, rec, servers: [], clients: [] }` (the case adds the servers it starts and
 * the socket.io clients it connects: they are stopped and disconnected at the end). On failure a
 * screenshot is taken and the server logs and the page's console and network are added to the
 * error. Logs are saved as artifacts (`<name>.log`) either way.
 */
export async function withPage(browser, name, viewport, body) {
  // A failure screenshot left by an earlier run would mislead.
  fs.rmSync(path.join(ARTIFACTS, `${name}-failed.png`), { force: true });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const rec = record(page);
  const ctx = { name, page, rec, servers: [], clients: [] };
  try {
    await body(ctx);
  } catch (error) {
    const screenshot = await failureScreenshot(page, name);
    const logs = ctx.servers.map((s, i) => `--- server ${i + 1} log (${s.argv}) ---\n${s.log()}`).join('\n');
    // A new error: its stack (what the reporter prints) then carries the logs too.
    throw new Error(`[${name}] ${error.message}\n\nscreenshot: ${screenshot}\n\n${logs}\n${rec.dump()}`, { cause: error });
  } finally {
    const logs = ctx.servers.map((s, i) => `--- server ${i + 1} (${s.argv}) ---\n${s.log()}`).join('\n');
    fs.writeFileSync(path.join(ARTIFACTS, `${name}.log`), `${logs}\n${rec.dump()}\n`);
    for (const client of ctx.clients) client.disconnect();
    await context.close().catch(() => {});
    await Promise.all(ctx.servers.map((s) => s.kill()));
  }
}
