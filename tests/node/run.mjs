#!/usr/bin/env node
// Runs one interop suite against a server.
//
//   node tests/node/run.mjs --server "<command and args>" --suite engine|socketio
//   node tests/node/run.mjs --reference --suite engine|socketio
//
// Starts the server command with `--port 0` appended, waits (20 s at most) for
// its stdout line `listening on HOST:PORT`, runs `node --test` on the suite's
// files with SERVER_URL=http://HOST:PORT (test output is forwarded, TAP by
// default, ending with `# pass N` / `# fail N`), then stops the server and
// exits with the test runner's exit code. The files run one at a time, and
// SERVER_KIND says `reference` or `ours` (for the few places where we differ
// on purpose, NOTES.md "Where we differ").
//
// Options:
//   --server CMD       server command line (split on whitespace, '…' and "…" quote)
//   --reference        use the reference Node servers in ./reference instead
//                      (started with --ping-interval 500 --ping-timeout 2000, and
//                      --allow-eio3 for socketio_v2)
//   --suite NAME       engine | socketio | socketio_v2 (socket.io-client 2.x: give
//                      the server --allow-eio3) | socketio/recovery | socketio/msgpack (the
//                      server of the last two gets --recover --max-disconnection 2000, or
//                      --parser msgpack, from here, whichever server it is)
//   --reporter NAME    node:test reporter (default: tap)
//   --quiet-server     do not forward the server's stderr
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import readline from 'node:readline';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const READY_DEADLINE_MS = 20_000;
const SUITES = {
  engine: path.join(HERE, 'reference', 'engine_echo.mjs'),
  socketio: path.join(HERE, 'reference', 'interop.mjs'),
  socketio_v2: path.join(HERE, 'reference', 'interop.mjs'),
  'socketio/recovery': path.join(HERE, 'reference', 'interop.mjs'),
  'socketio/msgpack': path.join(HERE, 'reference', 'interop.mjs'),
};
// Flags a suite's server always gets, whichever server it is (after the command's own).
const SUITE_FLAGS = {
  'socketio/recovery': ['--recover', '--max-disconnection', '2000'],
  'socketio/msgpack': ['--parser', 'msgpack'],
};
/** What a reference server needs beyond REFERENCE_FLAGS for a suite. */
const REFERENCE_SUITE_FLAGS = { socketio_v2: ['--allow-eio3'] };

function fail(msg) {
  console.error(`run.mjs: ${msg}`);
  process.exit(2);
}

/** Splits a command line like a (very) small shell: whitespace, '…', "…", backslash. */
function splitCommand(line) {
  const out = [];
  let cur = '';
  let inWord = false;
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) fail(`unterminated quote in --server: ${line}`);
  if (inWord) out.push(cur);
  return out;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      server: { type: 'string' },
      reference: { type: 'boolean', default: false },
      suite: { type: 'string' },
      reporter: { type: 'string', default: 'tap' },
      'quiet-server': { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  fail(err.message);
}

const suite = values.suite;
if (!suite || !(suite in SUITES)) fail(`--suite must be one of: ${Object.keys(SUITES).join(', ')}`);
if (values.reference === (values.server !== undefined)) fail('give exactly one of --server "<cmd>" or --reference');

// The reference servers get short heartbeats so that the heartbeat tests run
// (they skip when pingInterval > 2000 ms); pass the same flags to ours in --server.
const REFERENCE_FLAGS = ['--ping-interval', '500', '--ping-timeout', '2000'];
const argv = values.reference
  ? [process.execPath, SUITES[suite], ...REFERENCE_FLAGS, ...(REFERENCE_SUITE_FLAGS[suite] ?? [])]
  : splitCommand(values.server);
if (argv.length === 0) fail('--server is empty');
argv.push(...(SUITE_FLAGS[suite] ?? []), '--port', '0');

const suiteDir = path.join(HERE, suite);
const testFiles = readdirSync(suiteDir)
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => path.join(suiteDir, f));
if (testFiles.length === 0) fail(`no *.test.mjs files in ${suiteDir}`);

console.error(`run.mjs: starting server: ${argv.join(' ')}`);
// Own process group, so that stopping it also stops anything it started
// (e.g. `cargo run` and the binary it runs).
const server = spawn(argv[0], argv.slice(1), {
  stdio: ['ignore', 'pipe', values['quiet-server'] ? 'ignore' : 'pipe'],
  detached: true,
});
let serverExited = null;
server.on('exit', (code, signal) => {
  serverExited = { code, signal };
});
if (server.stderr) {
  readline.createInterface({ input: server.stderr }).on('line', (l) => process.stderr.write(`[server] ${l}\n`));
}

let testRunner = null;
let stopping = null;
/** SIGTERM to the server's process group, SIGKILL after 3 s; resolves once it is gone. */
function stopServer() {
  if (stopping) return stopping;
  stopping = new Promise((resolve) => {
    if (serverExited || server.pid === undefined) return resolve();
    const t = setTimeout(() => {
      try { process.kill(-server.pid, 'SIGKILL'); } catch { /* already gone */ }
      resolve();
    }, 3000);
    server.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      try { server.kill('SIGTERM'); } catch { /* already gone */ }
    }
  });
  return stopping;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (testRunner) testRunner.kill(sig);
    stopServer().then(() => process.exit(130));
  });
}
process.on('exit', () => {
  if (!serverExited && server.pid !== undefined) {
    try { process.kill(-server.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

const serverUrl = await new Promise((resolve) => {
  const timer = setTimeout(() => {
    console.error(`run.mjs: FAIL: server printed no "listening on HOST:PORT" line within ${READY_DEADLINE_MS / 1000} s`);
    stopServer().then(() => process.exit(1));
  }, READY_DEADLINE_MS);
  server.on('error', (err) => {
    clearTimeout(timer);
    console.error(`run.mjs: FAIL: cannot start server (${argv[0]}): ${err.message}`);
    process.exit(1);
  });
  server.on('exit', (code, signal) => {
    clearTimeout(timer);
    if (stopping) return;
    console.error(`run.mjs: FAIL: server exited (code ${code}, signal ${signal}) before printing "listening on HOST:PORT"`);
    process.exit(1);
  });
  let ready = false;
  readline.createInterface({ input: server.stdout }).on('line', (line) => {
    if (ready) {
      process.stderr.write(`[server stdout] ${line}\n`);
      return;
    }
    const m = /^listening on (\S+):(\d+)\s*$/.exec(line);
    if (!m) {
      process.stderr.write(`[server stdout] ${line}\n`);
      return;
    }
    ready = true;
    clearTimeout(timer);
    server.removeAllListeners('exit');
    server.on('exit', (code, signal) => {
      serverExited = { code, signal };
      if (!stopping) console.error(`run.mjs: server exited during the tests (code ${code}, signal ${signal})`);
    });
    const host = m[1].includes(':') && !m[1].startsWith('[') ? `[${m[1]}]` : m[1];
    resolve(`http://${host}:${m[2]}`);
  });
});

console.error(`run.mjs: SERVER_URL=${serverUrl}, suite ${suite}: ${testFiles.map((f) => path.relative(HERE, f)).join(' ')}`);
const code = await new Promise((resolve) => {
  // One file at a time: the files share one server, and a broadcast to a whole namespace (or
  // fetchSockets of it) must not meet another file's clients.
  const runnerArgs = ['--test', '--test-force-exit', '--test-concurrency=1', `--test-reporter=${values.reporter}`];
  testRunner = spawn(process.execPath, [...runnerArgs, ...testFiles], {
    stdio: 'inherit',
    env: { ...process.env, SERVER_URL: serverUrl, SERVER_KIND: values.reference ? 'reference' : 'ours' },
    cwd: HERE,
  });
  testRunner.on('error', (err) => {
    console.error(`run.mjs: cannot start node --test: ${err.message}`);
    resolve(1);
  });
  testRunner.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});

await stopServer();
process.exit(code);
