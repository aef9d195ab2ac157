// The GIF chat (examples/gif_chat) in a real browser, as three people use it: headless
// Chromium or Chrome (CHROME, else chromium, chromium-browser or google-chrome on PATH; driven
// by playwright-core) with one browser context per person, so each has their own session cookie
// and colour. One story, told twice: with our
// client (www/socket.io.js) and with the official bundle (socket.io.min.js, `--client-script`).
//
//    1  A and B open the list; A's and B's colours are color-hash of their session ids
//    2  A creates a room (the form) and is taken into it
//    3  the room appears on B's list live (newRoom), B's page not reloaded
//    4  B enters: A sees B's entry message, B sees A's (stored with the chat)
//    5  both list 2 participants
//    6  A's message appears on both pages
//    7  B's uploaded GIF appears on both pages, loaded
//    8  C enters; A whispers to B: B sees it, C does not (one packet out, to B)
//    9  C leaves, then B: the others see the exit messages, the count goes down
//   10  A, the last, leaves: the room disappears from B's list 2 s after its removal
//   11  a secret room refuses a wrong password (a flash message on the list)
//   12  a room of capacity 2 with two people refuses a third
//
//   node --test tests/browser/gif_chat.test.mjs     (tests/gif_chat.rs runs it under `cargo test`)
//
// Screenshots of every step (`<story>/<step>-<person>.png`, and `-failed.png` of each page when a
// step fails), the server log and the pages' consoles go to target/browser-screenshots/gif_chat/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARTIFACTS, CHROME, NODE_DIR, ROOT, Server, playwright, waitFor } from './support.mjs';

const GIF_CHAT_BIN = process.env.GIF_CHAT_BIN || path.join(ROOT, 'target', 'debug', 'examples', 'gif_chat');
const OFFICIAL_MIN_BUNDLE = path.join(NODE_DIR, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js');
const SHOTS = path.join(ARTIFACTS, 'gif_chat');
const CASE_TIMEOUT = 240_000;
/** How long the server waits before `removeRoom` (the book's setTimeout of 2000 ms). */
const REMOVE_ROOM_DELAY_MS = 2000;

let browser;

// ---- color-hash 1.0.x, written from its description, to check the colours independently ----

/** The package's BKDR hash (doubles, as JavaScript computes them). */
function bkdrHash(text) {
  const maxSafe = Math.trunc(9007199254740991 / 137);
  let hash = 0;
  for (const unit of text + 'x') {
    if (hash > maxSafe) hash = Math.trunc(hash / 137);
    hash = hash * 131 + unit.charCodeAt(0);
  }
  return hash;
}

/** `new ColorHash().hex(text)`. */
function colorHash(text) {
  const levels = [0.35, 0.5, 0.65];
  let hash = bkdrHash(text);
  const h = (hash % 359) / 360;
  hash = Math.trunc(hash / 360);
  const s = levels[hash % 3];
  hash = Math.trunc(hash / 3);
  const l = levels[hash % 3];
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t) => {
    if (t < 0) t += 1;
    if (t > 1) t -= 1;
    const v = t < 1 / 6 ? p + (q - p) * 6 * t : t < 0.5 ? q : t < 2 / 3 ? p + (q - p) * 6 * (2 / 3 - t) : p;
    return Math.round(v * 255).toString(16).padStart(2, '0');
  };
  return '#' + channel(h + 1 / 3) + channel(h) + channel(h - 1 / 3);
}

// ---- a GIF to upload ------------------------------------------------------------------------

/**
 * A `size`x`size` GIF89a of a navy disc on orange, made here: 4 colours, LZW with a clear code
 * before every second pixel, so that every code stays 3 bits wide (no compression needed).
 */
function makeGif(size) {
  const bytes = [...Buffer.from('GIF89a')];
  const u16 = (n) => [n & 0xff, n >> 8];
  bytes.push(...u16(size), ...u16(size), 0x91, 0, 0); // global colour table of 4, 2 bits/colour
  bytes.push(0xff, 0xa5, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00);
  bytes.push(0x2c, ...u16(0), ...u16(0), ...u16(size), ...u16(size), 0); // image descriptor
  bytes.push(2); // LZW minimum code size: codes 0-3 colours, 4 clear, 5 end
  const codes = [];
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((y * size + x) % 2 === 0) codes.push(4);
      codes.push((x - c) ** 2 + (y - c) ** 2 < (size / 3) ** 2 ? 1 : 0);
    }
  }
  codes.push(5);
  const data = [];
  let bits = 0;
  let count = 0;
  for (const code of codes) {
    bits |= code << count;
    count += 3;
    while (count >= 8) {
      data.push(bits & 0xff);
      bits >>= 8;
      count -= 8;
    }
  }
  if (count > 0) data.push(bits & 0xff);
  for (let i = 0; i < data.length; i += 255) {
    const block = data.slice(i, i + 255);
    bytes.push(block.length, ...block);
  }
  bytes.push(0, 0x3b); // end of the image data, trailer
  return Buffer.from(bytes);
}

const GIF_SIZE = 48;
const GIF = makeGif(GIF_SIZE);

// ---- the people -----------------------------------------------------------------------------

/** One person: a browser context (their cookies), a page, their console. */
class Person {
  constructor(name, context, page, story) {
    Object.assign(this, { name, context, page, story, console: [], documents: [] });
    page.on('console', (message) => this.console.push(message.text()));
    page.on('pageerror', (error) => this.console.push(`PAGEERROR ${error.message}`));
    page.on('request', (request) => {
      if (request.resourceType() === 'document') this.documents.push(`${request.method()} ${request.url()}`);
    });
  }

  static async open(name, story) {
    const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
    const page = await context.newPage();
    return new Person(name, context, page, story);
  }

  url(pathname) {
    return this.story.server.origin + pathname;
  }

  async goto(pathname) {
    await this.page.goto(this.url(pathname));
  }

  /** The session id of the HttpOnly cookie `connect.sid=s%3A<id>.<signature>`. */
  async sessionId() {
    const cookies = await this.context.cookies();
    const cookie = cookies.find((c) => c.name === 'connect.sid');
    assert.ok(cookie, `${this.name} has a session cookie`);
    assert.equal(cookie.httpOnly, true, 'the session cookie is HttpOnly');
    const value = decodeURIComponent(cookie.value);
    const m = /^s:([A-Za-z0-9_-]{32})\.[A-Za-z0-9+/]{43}$/.exec(value);
    assert.ok(m, `a signed session cookie: ${value}`);
    return m[1];
  }

  /** Waits until the page's `socket` (its /room or /chat connection) is connected. */
  async connected() {
    await waitFor(`${this.name}'s socket connected`, () =>
      this.page.evaluate(() => typeof socket !== 'undefined' && socket.connected === true));
  }

  async shot(step) {
    await this.page.screenshot({ path: path.join(this.story.dir, `${step}-${this.name}.png`) });
  }

  /** Clicks the join button of room `id` on the list; `password` answers the prompt. */
  async join(id, password) {
    if (password !== undefined) this.page.once('dialog', (dialog) => dialog.accept(password));
    // The next `load` is the room's page, or the list again after a refusal's redirect.
    await Promise.all([
      this.page.waitForEvent('load'),
      this.page.locator(`tbody tr[data-id="${id}"] button.join-btn`).click(),
    ]);
  }

  /** The texts of the chat lines of class `kind` (`system`, `mine`, `other`, `whisper`). */
  async lines(kind) {
    const texts = await this.page.locator(`#chat-list .${kind}`).allTextContents();
    return texts.map((text) => text.trim());
  }

  waitForLine(kind, text) {
    return this.page.locator(`#chat-list .${kind}`, { hasText: text }).first().waitFor();
  }

  async participants() {
    const count = await this.page.textContent('#participant-count');
    const names = await this.page.locator('#participants li').allTextContents();
    return { count: Number(count), names: names.sort() };
  }

  async waitForParticipants(expected) {
    await waitFor(`${this.name} lists ${JSON.stringify(expected)}`, async () => {
      const { count, names } = await this.participants();
      return count === expected.length && JSON.stringify(names) === JSON.stringify([...expected].sort());
    });
  }

  async exit() {
    await this.page.click('#exit-btn');
    await this.page.waitForURL(this.url('/'));
  }
}

/** Texts of the list's rows, cell by cell. */
function rowTexts(page, id) {
  return page.locator(`tbody tr[data-id="${id}"] td`).allTextContents();
}

// ---- the story ------------------------------------------------------------------------------

async function story(name, client) {
  const dir = path.join(SHOTS, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'gif_chat-'));
  const args = ['--data', data];
  if (client === 'official') args.push('--client-script', OFFICIAL_MIN_BUNDLE);
  const ctx = { dir, server: null };
  const people = [];
  try {
    ctx.server = await Server.start({ bin: GIF_CHAT_BIN, args });
    const server = ctx.server;
    const script = await (await fetch(server.origin + '/socket.io/socket.io.js')).text();
    const expected = client === 'official' ? OFFICIAL_MIN_BUNDLE : path.join(ROOT, 'www', 'socket.io.js');
    assert.equal(script, fs.readFileSync(expected, 'utf8'), `the page gets ${client} client`);

    // 1. Everyone opens the list; each colour is color-hash of the session id. Colours can
    // collide (1 in 3,231): a person whose colour is taken gets a new session.
    const a = await Person.open('A', ctx);
    const b = await Person.open('B', ctx);
    const c = await Person.open('C', ctx);
    people.push(a, b, c);
    const colors = new Map();
    for (const person of people) {
      for (let attempt = 0; ; attempt++) {
        await person.goto('/');
        person.color = colorHash(await person.sessionId());
        if (![...colors.values()].includes(person.color)) break;
        assert.ok(attempt < 5, 'five colour collisions in a row');
        await person.context.clearCookies();
      }
      colors.set(person.name, person.color);
      await person.connected();
    }
    await a.shot('01-list');
    const bDocuments = b.documents.length;

    // 2. A creates a room with the form and is taken into it.
    await a.page.click('a[href="/room"]');
    await a.page.fill('input[name=title]', '수다방 <b>');
    await Promise.all([a.page.waitForURL(/\/room\/\d+$/), a.page.click('button[type=submit]')]);
    const roomId = new URL(a.page.url()).pathname.split('/').pop();
    assert.equal(await a.page.evaluate(() => USER), a.color, "the chat page's user is A's colour");
    assert.equal(await a.page.textContent('h1'), '수다방 <b>');
    await a.connected();
    await a.waitForParticipants([`${a.color} (나)`]);
    await a.shot('02-created-the-room');

    // 3. The room appears on B's list, live: B's page was loaded once.
    await waitFor('the new room on B\'s list', async () => (await rowTexts(b.page, roomId)).length > 0);
    assert.deepEqual(await rowTexts(b.page, roomId), ['수다방 <b>', '공개방', '10', a.color, '입장']);
    assert.equal(b.documents.length, bDocuments, 'B did not reload');
    await b.shot('03-sees-the-new-room-live');

    // 4. B enters: A sees B's entry; B sees A's, stored with the chat.
    await b.join(roomId);
    assert.equal(b.page.url(), b.url(`/room/${roomId}`));
    assert.equal(await b.page.evaluate(() => USER), b.color);
    await a.waitForLine('system', `${b.color}님이 입장하셨습니다.`);
    assert.deepEqual(await b.lines('system'), [`${a.color}님이 입장하셨습니다.`]);
    await a.shot('04-sees-B-enter');
    await b.shot('04-sees-A-entered-before');

    // 5. Both list both.
    await a.waitForParticipants([`${a.color} (나)`, b.color]);
    await b.waitForParticipants([a.color, `${b.color} (나)`]);
    await b.shot('05-participants');

    // 6. A's message, on both pages.
    await a.page.fill('#chat', '안녕하세요 <i>');
    await a.page.click('#chat-form button[type=submit]');
    await a.waitForLine('mine', '안녕하세요 <i>');
    await b.waitForLine('other', '안녕하세요 <i>');
    assert.equal(await a.page.inputValue('#chat'), '', "A's input is cleared");
    await a.shot('06-message-sent');
    await b.shot('06-message-received');

    // 7. B's GIF, on both pages, loaded.
    await b.page.setInputFiles('#gif', { name: '고양이 (1).gif', mimeType: 'image/gif', buffer: GIF });
    for (const [person, kind] of [[b, 'mine'], [a, 'other']]) {
      const image = person.page.locator(`#chat-list .${kind} img`).first();
      await image.waitFor();
      assert.match(await image.getAttribute('src'), /^\/gif\/고양이1\d{13}\.gif$/);
      await waitFor(`${person.name}'s image loaded`, () => image.evaluate((img) => img.complete && img.naturalWidth > 0));
      assert.equal(await image.evaluate((img) => img.naturalWidth), GIF_SIZE);
      await person.shot('07-gif');
    }

    // 8. C enters; A whispers to B: B sees it, C does not.
    await c.join(roomId);
    await a.waitForParticipants([`${a.color} (나)`, b.color, c.color]);
    await c.waitForParticipants([a.color, b.color, `${c.color} (나)`]);
    await b.waitForLine('system', `${c.color}님이 입장하셨습니다.`);
    await a.page.selectOption('#whisper-to', { label: b.color });
    await a.page.fill('#chat', '비밀 이야기');
    await a.page.click('#chat-form button[type=submit]');
    await a.waitForLine('whisper', `(귓속말) → ${b.color}: 비밀 이야기`);
    await b.waitForLine('whisper', `(귓속말) ${a.color}: 비밀 이야기`);
    // The server sent one whisper packet, to B's session only.
    const sent = server.find(/→ 42\/chat,\["whisper",/);
    assert.equal(sent.length, 1, sent.map((line) => line.text).join('\n'));
    assert.deepEqual(await c.lines('whisper'), []);
    assert.ok(!(await a.lines('other')).some((line) => line.includes('비밀 이야기')), 'a whisper is not a chat line');
    await a.shot('08-whispered');
    await b.shot('08-got-the-whisper');
    await c.shot('08-no-whisper');

    // 9. C leaves, then B: the exit messages, the counts.
    await c.exit();
    await c.connected(); // C is on the list again, listening to /room
    await a.waitForLine('system', `${c.color}님이 퇴장하셨습니다.`);
    await b.waitForLine('system', `${c.color}님이 퇴장하셨습니다.`);
    await a.waitForParticipants([`${a.color} (나)`, b.color]);
    await b.exit();
    await a.waitForLine('system', `${b.color}님이 퇴장하셨습니다.`);
    await a.waitForParticipants([`${a.color} (나)`]);
    await a.shot('09-the-others-left');
    await b.connected(); // B is on the list again, listening to /room

    // 10. A, the last, leaves: the room goes, and 2 s later leaves B's list.
    await b.page.evaluate(() => {
      window.removedAt = null;
      socket.on('removeRoom', () => { window.removedAt = Date.now(); });
    });
    assert.equal((await rowTexts(b.page, roomId)).length, 5, 'the room is still listed');
    await a.exit();
    const removed = await server.waitForLog(new RegExp(`^room ${roomId} removed`));
    await b.page.locator(`tbody tr[data-id="${roomId}"]`).waitFor({ state: 'detached' });
    const removedAt = await b.page.evaluate(() => window.removedAt);
    assert.ok(removedAt - removed.t >= REMOVE_ROOM_DELAY_MS - 100, `removeRoom ${removedAt - removed.t} ms after the removal`);
    await b.shot('10-room-removed');

    // 11. A secret room of two refuses a wrong password.
    await a.connected();
    await a.page.click('a[href="/room"]');
    await a.page.fill('input[name=title]', '비밀방');
    await a.page.fill('input[name=max]', '2');
    await a.page.fill('input[name=password]', '1234');
    await Promise.all([a.page.waitForURL(/\/room\/\d+\?password=1234$/), a.page.click('button[type=submit]')]);
    const secretId = new URL(a.page.url()).pathname.split('/').pop();
    await a.connected();
    await waitFor('the secret room on B\'s list', async () => (await rowTexts(b.page, secretId)).length > 0);
    assert.deepEqual(await rowTexts(b.page, secretId), ['비밀방', '비밀방', '2', a.color, '입장']);
    await b.join(secretId, 'wrong');
    assert.equal(b.page.url(), b.url('/'));
    assert.equal(await b.page.textContent('.error-message'), '비밀번호가 틀렸습니다.');
    await b.shot('11-wrong-password');

    // 12. With the right password B enters; the room is full for C.
    await b.join(secretId, '1234');
    assert.equal(b.page.url(), b.url(`/room/${secretId}?password=1234`));
    await a.waitForLine('system', `${b.color}님이 입장하셨습니다.`);
    await b.waitForParticipants([a.color, `${b.color} (나)`]);
    await waitFor('the secret room on C\'s list', async () => (await rowTexts(c.page, secretId)).length > 0);
    await c.join(secretId, '1234');
    assert.equal(c.page.url(), c.url('/'));
    assert.equal(await c.page.textContent('.error-message'), '허용 인원이 초과하였습니다.');
    await c.shot('12-room-full');
    await b.shot('12-inside');

    for (const person of people) {
      assert.deepEqual(person.console.filter((line) => line.startsWith('PAGEERROR')), [], `${person.name}'s page errors`);
    }
    assert.deepEqual(server.find(/panicked/), []);
  } catch (error) {
    const shots = [];
    for (const person of people) {
      if (person.page.isClosed()) continue;
      const file = path.join(dir, `failed-${person.name}.png`);
      await person.page.screenshot({ path: file }).then(() => shots.push(file), () => {});
    }
    const consoles = people.map((p) => `--- ${p.name} console ---\n${p.console.join('\n')}`).join('\n');
    throw new Error(`[${name}] ${error.message}\n\nscreenshots: ${shots.join(', ')}\n\n--- server log ---\n${ctx.server?.log()}\n${consoles}`, { cause: error });
  } finally {
    const consoles = people.map((p) => `--- ${p.name} console ---\n${p.console.join('\n')}`).join('\n');
    fs.writeFileSync(path.join(dir, 'log.txt'), `--- server (${ctx.server?.argv}) ---\n${ctx.server?.log()}\n${consoles}\n`);
    await Promise.all(people.map((p) => p.context.close().catch(() => {})));
    await ctx.server?.kill();
    fs.rmSync(data, { recursive: true, force: true });
  }
}

describe('the GIF chat in Chromium', { concurrency: true }, () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await playwright().chromium.launch({
      executablePath: CHROME,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
  });

  it('1. three people, our client', { timeout: CASE_TIMEOUT }, () => story('1-ours', 'ours'));
  it('2. three people, the official socket.io-client bundle', { timeout: CASE_TIMEOUT }, () => story('2-official', 'official'));
});
