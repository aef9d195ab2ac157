// Official socket.io-clients through a load balancer in front of two servers on one Redis
// (issue 10, sticky sessions): tests/cluster_proxies.rs starts Redis, the servers, nginx or
// HAProxy, runs this script and checks what it prints.
//
// Environment:
//   PROXY             http://127.0.0.1:PORT, the load balancer
//   CLIENTS           how many clients (default 4)
//   LOCAL_ADDRESSES   1: client i sends from 127.0.0.(i + 2), so that nginx's `hash $remote_addr`
//                     spreads them over both servers (Linux answers on all of 127.0.0.0/8)
//   WITH_CREDENTIALS  1: `withCredentials: true`, with which engine.io-client keeps a cookie jar in
//                     Node (HAProxy's `serverid` cookie); 0: the default, no cookies kept
//   EVENT             broadcast (default): every client emits `broadcast` (examples/interop answers
//                     with `broadcast-back` to the whole namespace, across the cluster) and waits for
//                     everyone's; news: every client waits for the chapter's `news`
//
// The clients connect one after another, each with the default transports (polling, then the
// upgrade to WebSocket) and no reconnection; each waits for `connect` or `connect_error`. When all
// have connected: each waits for its upgrade, then the EVENT round. Every HTTP answer any client
// got is recorded on the way, from Node's `http.request` (the polling requests of xmlhttprequest-ssl
// and the WebSocket handshake of `ws` both go through it): method, path, status, body, the cookie
// the request carried and the Set-Cookie of the answer.
//
// Prints one JSON object: {clients: [{index, localAddress, id, connected, error, upgraded,
// transport, got}], answers: [{client, method, path, status, body, cookie, setCookie}]}.
import http from 'node:http';
import { io } from 'socket.io-client';

const PROXY = process.env.PROXY;
const CLIENTS = Number(process.env.CLIENTS ?? 4);
const LOCAL_ADDRESSES = process.env.LOCAL_ADDRESSES === '1';
const WITH_CREDENTIALS = process.env.WITH_CREDENTIALS === '1';
const EVENT = process.env.EVENT ?? 'broadcast';
const WAIT_MS = 10000;
if (!PROXY) throw new Error('PROXY is needed');

// ----- every HTTP answer, by client (each client has an agent of its own) ---------------------

const answers = [];
const clientOfAgent = new Map();
const originalRequest = http.request;
http.request = function request(...args) {
  const req = originalRequest.apply(this, args);
  const options = typeof args[0] === 'object' && !(args[0] instanceof URL) ? args[0] : args[1] ?? {};
  const client = clientOfAgent.get(options.agent) ?? null;
  const method = options.method ?? 'GET';
  const path = options.path ?? '';
  // One string (`ws` gives its headers as arrays).
  const cookieHeader = req.getHeader('cookie');
  const cookie = cookieHeader == null ? null : [].concat(cookieHeader).join('; ');
  const record = (res, body) =>
    answers.push({ client, method, path, status: res.statusCode, body, cookie, setCookie: res.headers['set-cookie'] ?? [] });
  req.on('response', (res) => {
    let body = '';
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => record(res, body));
  });
  req.on('upgrade', (res) => record(res, ''));
  return req;
};

// ----- the clients ----------------------------------------------------------------------------

function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: what }), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const clients = [];
for (let index = 0; index < CLIENTS; index++) {
  const localAddress = LOCAL_ADDRESSES ? `127.0.0.${index + 2}` : null;
  const agent = new http.Agent(localAddress ? { localAddress } : {});
  clientOfAgent.set(agent, index);
  const socket = io(PROXY, {
    agent,
    forceNew: true,
    reconnection: false,
    withCredentials: WITH_CREDENTIALS,
  });
  const client = { index, localAddress, socket, id: null, connected: false, error: null, got: new Set() };
  clients.push(client);
  socket.on(EVENT === 'news' ? 'news' : 'broadcast-back', (value) => client.got.add(value));
  const outcome = await within(
    WAIT_MS,
    'connect',
    new Promise((resolve) => {
      socket.once('connect', () => resolve({ connected: true }));
      socket.once('connect_error', (error) => resolve({ error: error.message }));
    }),
  );
  client.connected = outcome.connected === true;
  client.error = outcome.error ?? (outcome.timedOut ? `no connect within ${WAIT_MS} ms` : null);
  client.id = socket.id ?? null;
}

const allConnected = clients.every((client) => client.connected);
if (allConnected) {
  // The upgrade to WebSocket: engine.io-client probes it right after the handshake.
  await within(
    WAIT_MS,
    'upgrade',
    Promise.all(
      clients.map(({ socket }) =>
        socket.io.engine.transport.name === 'websocket'
          ? null
          : new Promise((resolve) => socket.io.engine.once('upgrade', resolve)),
      ),
    ),
  );
  // The round: everyone's broadcast to everyone (or one `news` each).
  const wanted = EVENT === 'news' ? 1 : CLIENTS;
  const everyoneHasAll = Promise.all(
    clients.map(
      (client) =>
        new Promise((resolve) => {
          const check = () => (client.got.size >= wanted ? resolve() : setTimeout(check, 10));
          check();
        }),
    ),
  );
  if (EVENT !== 'news') {
    for (const client of clients) client.socket.emit('broadcast', client.index);
  }
  await within(WAIT_MS, EVENT, everyoneHasAll);
}

const report = {
  clients: clients.map((client) => ({
    index: client.index,
    localAddress: client.localAddress,
    id: client.id,
    connected: client.connected,
    error: client.error,
    upgraded: client.socket.io.engine?.transport?.name === 'websocket',
    transport: client.socket.io.engine?.transport?.name ?? null,
    got: [...client.got].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  })),
  answers,
};
for (const { socket } of clients) socket.disconnect();
console.log(JSON.stringify(report));
process.exit(0);
