// The official admin UI (@socket.io/admin-ui 0.5.1, its prebuilt ui/dist from tests/node's
// pinned packages) in headless Chromium, against our server and against the reference
// (`instrument()` of the same package on socket.io 4.8), with the same script:
//
//   1. interop: official Node clients connect (three to `/`, one to `/custom`) and join the room
//      `lobby`; the UI's dashboard shows the namespaces and their sockets, the sockets page
//      lists the clients' ids, the rooms page the room `lobby`; the disconnect button of one
//      client's row disconnects it (the client sees "io server disconnect");
//   2. basic auth: a wrong password shows the UI's "Invalid credentials", the right one connects;
//   3. the chapter (`socketio_book --admin-ui --admin-ui-origin ...`): the events page shows the
//      `news` the server sends to a client and the `reply` it gets.
//
//   node --test tests/browser/admin_ui.test.mjs     (tests/admin_ui.rs runs it under `cargo test`)
//
// The UI is served by this script on a port of its own, so it is another origin than the server:
// the server allows it with CORS and credentials, as socket.io's docs set up
// https://admin.socket.io. Screenshots (`admin-<kind>-<case>-<page>.png`), server logs and page
// consoles go to BROWSER_ARTIFACTS (tests/admin_ui.rs: target/browser-screenshots).
//
// Env (tests/admin_ui.rs sets them): SOCKETIO_BOOK_BIN (the chapter), INTEROP_BIN
// (examples/interop), BROWSER_ARTIFACTS, CHROME.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ARTIFACTS, BIN, CHROME, NODE_DIR, ROOT, Server, playwright, waitFor, withPage as withPageOf } from './support.mjs';

const require = createRequire(path.join(NODE_DIR, 'package.json'));
const { io: connectClient } = require('socket.io-client');

const UI_DIST = path.join(NODE_DIR, 'node_modules', '@socket.io', 'admin-ui', 'ui', 'dist');
const INTEROP_BIN = process.env.INTEROP_BIN || path.join(ROOT, 'target', 'debug', 'examples', 'interop');
/** bcrypt of "changeit", cost 10 (the reference's own tests use it). */
const HASH = '$2b$10$nu1FHRkuxkZkqID.31gz4uQsyERZAn.m4IIruysTsHDODBtrqS5Me';
const CASE_TIMEOUT = 90_000;

/** The server commands of each kind: the same flags for ours and the reference. */
const SERVERS = {
  ours: {
    interop: (args) => [INTEROP_BIN, '--port', '0', '--log-level', 'debug', ...args],
    chapter: (args) => [BIN, '--host', '127.0.0.1', '--port', '0', '--log-level', 'debug', ...args],
  },
  reference: {
    interop: (args) => [process.execPath, 'tests/node/reference/interop.mjs', '--port', '0', ...args],
    chapter: (args) => [process.execPath, 'tests/node/reference/chapter.mjs', '--port', '0', ...args],
  },
};

let browser;
let ui; // { server, origin }

// ---- the UI's files, served as a static site -----------------------------------------------------

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Serves ui/dist on 127.0.0.1 (any free port); `/` is index.html. */
function serveUi() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.join(UI_DIST, relative);
    if (!file.startsWith(UI_DIST + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

// ---- one case: a page, servers, clients --------------------------------------------------------

/** `withPage` of support.mjs, wide enough for the UI's navigation drawer to stay open (Vuetify's lgAndUp). */
const withPage = (name, body) => withPageOf(browser, name, { width: 1400, height: 850 }, body);

async function startServer(ctx, command) {
  const server = await Server.startCommand(command);
  ctx.servers.push(server);
  return server;
}

/** An official client of `nsp`, connected; it records the reasons of its disconnects. */
async function client(ctx, server, nsp = '/') {
  const socket = connectClient(`${server.origin}${nsp}`, { forceNew: true, reconnection: false });
  socket.disconnects = [];
  socket.on('disconnect', (reason) => socket.disconnects.push(reason));
  ctx.clients.push(socket);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A screenshot of the page: `<case>-<what>.png` (after the charts' and pages' animations). */
async function screenshot(ctx, what) {
  await ctx.page.waitForTimeout(1_000);
  await ctx.page.screenshot({ path: path.join(ARTIFACTS, `${ctx.name}-${what}.png`) });
}

/** The UI's connection form: server URL, user name and password, and the advanced options. */
async function fillConnectionForm(page, server, { username = '', password = '' } = {}) {
  const dialog = page.locator('.v-dialog--active');
  await dialog.getByLabel('Server URL').fill(server.origin);
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByLabel('Password').fill(password);
  if (!(await dialog.getByLabel('Path').isVisible())) {
    await dialog.getByText('Advanced options').click();
  }
  await dialog.getByLabel('Admin namespace').fill('/admin');
  await dialog.getByLabel('Path').fill('/socket.io');
  await dialog.getByRole('button', { name: 'Connect' }).click();
  return dialog;
}

/** Opens the UI and connects it to `server`; waits until the form is gone. */
async function openUi(ctx, server, credentials) {
  await ctx.page.goto(`${ui.origin}/`);
  await fillConnectionForm(ctx.page, server, credentials);
  await formClosed(ctx.page);
}

/** Waits until the connection form has closed (and finished sliding away). */
async function formClosed(page) {
  await page.locator('.v-dialog').waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Goes to a page of the navigation drawer (`Dashboard`, `Sockets`, `Rooms`, `Events`...). */
async function navigate(page, title) {
  await page.locator('nav').getByText(title, { exact: true }).click();
  await page.locator('.v-breadcrumbs').getByText(title, { exact: true }).waitFor();
  // the page it replaces slides away meanwhile: wait until it is gone
  await waitFor(`the page before ${title} gone`, async () => (await page.locator('.v-breadcrumbs').count()) === 1);
}

/** The text of each cell of each row of the visible data or simple table. */
async function tableRows(page) {
  return page.locator('main table tbody tr').evaluateAll((rows) =>
    rows.filter((row) => row.checkVisibility()).map((row) => [...row.querySelectorAll('td')].map((td) => td.innerText.trim())),
  );
}

/** Waits until a row of the page's table satisfies `match(cells)`; returns the rows. */
async function waitForRow(page, what, match, timeout = 15_000) {
  let rows = [];
  try {
    await waitFor(what, async () => {
      rows = await tableRows(page);
      return rows.some(match);
    }, timeout);
  } catch (e) {
    throw new Error(`${e.message}; the table has ${JSON.stringify(rows)}`);
  }
  return rows;
}

// ---- the cases -----------------------------------------------------------------------------------

/** Case 1: dashboard, sockets, rooms, and a disconnect pressed in the UI. */
async function sockets_and_rooms(kind) {
  await withPage(`admin-${kind}-1-sockets-rooms`, async (ctx) => {
    const { page } = ctx;
    const server = await startServer(ctx, SERVERS[kind].interop(['--admin-ui', '--cors-origin', ui.origin]));
    const clients = [];
    for (let i = 0; i < 3; i++) clients.push(await client(ctx, server, '/'));
    const custom = await client(ctx, server, '/custom');
    for (const socket of clients) await socket.emitWithAck('join', 'lobby');

    await openUi(ctx, server);

    // Dashboard: the namespaces with their sockets (server_stats, every 2 s).
    await waitForRow(page, 'the dashboard\'s row of "/" with 3 sockets', (cells) => cells[0] === '/' && cells[1] === '3');
    const rows = await waitForRow(page, 'the row of "/admin" with 1 socket', (cells) => cells[0] === '/admin' && cells[1] === '1');
    assert.ok(rows.some((cells) => cells[0] === '/custom' && cells[1] === '1'), `/custom with 1 socket: ${JSON.stringify(rows)}`);
    // The clients card: the four official clients and the UI itself, all over WebSocket by now.
    await waitForRow(page, 'the clients card with 5 WebSocket clients', (cells) => cells[0] === 'WebSocket' && cells[1].startsWith('5'));
    await screenshot(ctx, 'dashboard');

    // Sockets (namespace "/" is selected first): the official clients' ids.
    await navigate(page, 'Sockets');
    for (const socket of clients) {
      await waitForRow(page, `the row of socket ${socket.id}`, (cells) => cells[0] === socket.id);
    }
    const listed = (await tableRows(page)).map((cells) => cells[0]);
    assert.ok(!listed.includes(custom.id), `a socket of /custom listed under "/": ${listed}`);
    await screenshot(ctx, 'sockets');

    // Rooms: `lobby` with its 3 sockets (the private rooms, the sockets' own, are hidden).
    await navigate(page, 'Rooms');
    await waitForRow(page, 'the row of room "lobby" with 3 sockets', (cells) => cells[0] === 'lobby' && cells.includes('3'));
    const roomNames = (await tableRows(page)).map((cells) => cells[0]);
    assert.deepEqual(roomNames, ['lobby'], 'only the public room is listed');
    await screenshot(ctx, 'rooms');

    // The disconnect button of the first client's row on the sockets page.
    await navigate(page, 'Sockets');
    const [first, ...others] = clients;
    const row = page.locator('main table tbody tr', { hasText: first.id });
    await row.getByRole('button').click();
    await waitFor(`client ${first.id} disconnected`, () => first.disconnects.length > 0, 10_000);
    assert.deepEqual(first.disconnects, ['io server disconnect']);
    await waitFor(`the row of ${first.id} gone`, async () => !(await tableRows(page)).some((cells) => cells[0] === first.id));
    for (const socket of others) assert.ok(socket.connected, `${socket.id} is still connected`);
    await screenshot(ctx, 'after-disconnect');
  });
}

/** Case 2: basic auth, a wrong password then the right one. */
async function basic_auth(kind) {
  await withPage(`admin-${kind}-2-basic-auth`, async (ctx) => {
    const { page } = ctx;
    const args = ['--admin-ui', '--admin-ui-auth', `admin:${HASH}`, '--cors-origin', ui.origin];
    const server = await startServer(ctx, SERVERS[kind].interop(args));

    await page.goto(`${ui.origin}/`);
    const dialog = await fillConnectionForm(page, server, { username: 'admin', password: 'wrong' });
    await dialog.getByText('Invalid credentials').waitFor({ timeout: 15_000 });
    await screenshot(ctx, 'invalid-credentials');

    await fillConnectionForm(page, server, { username: 'admin', password: 'changeit' });
    await formClosed(page);
    await waitForRow(page, 'the dashboard\'s row of "/admin" with 1 socket', (cells) => cells[0] === '/admin' && cells[1] === '1');
    await screenshot(ctx, 'dashboard');
  });
}

/** Case 3: the chapter's `news` and `reply` on the events page. */
async function chapter_events(kind) {
  await withPage(`admin-${kind}-3-chapter-events`, async (ctx) => {
    const { page } = ctx;
    const args = ['--admin-ui', '--admin-ui-origin', ui.origin, '--news-interval', '500'];
    const server = await startServer(ctx, SERVERS[kind].chapter(args));
    const reader = await client(ctx, server, '/');

    await openUi(ctx, server);
    await navigate(page, 'Events');
    // Each row: [expand, type, socket id, arguments, timestamp] (the order of the table's headers).
    await waitForRow(page, `a "news" sent to ${reader.id}`, (cells) =>
      cells.includes('Event sent') && cells.includes(reader.id) && cells.some((cell) => cell.endsWith('news')),
    );
    reader.emit('reply', 'Hello Node.JS');
    await waitForRow(page, `the "reply" of ${reader.id}`, (cells) =>
      cells.includes('Event received') && cells.includes(reader.id) && cells.some((cell) => cell.endsWith('reply')),
    );
    await screenshot(ctx, 'events');
  });
}

describe('the admin UI', () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    assert.ok(fs.existsSync(path.join(UI_DIST, 'index.html')), `${UI_DIST}/index.html (npm ci --prefix tests/node)`);
    ui = await serveUi();
    browser = await playwright().chromium.launch({
      executablePath: CHROME,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    ui?.server.close();
  });

  for (const kind of ['ours', 'reference']) {
    it(`${kind}: 1. dashboard, sockets, rooms, a disconnect pressed in the UI`, { timeout: CASE_TIMEOUT }, () => sockets_and_rooms(kind));
    it(`${kind}: 2. basic auth: a wrong password, then the right one`, { timeout: CASE_TIMEOUT }, () => basic_auth(kind));
    it(`${kind}: 3. the chapter's news and reply on the events page`, { timeout: CASE_TIMEOUT }, () => chapter_events(kind));
  }
});
