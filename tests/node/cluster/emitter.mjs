#!/usr/bin/env node
// One action of @socket.io/redis-emitter 5.1.0 (over node-redis 4.7.0), from the command line:
// how a process without Socket.IO drives a cluster of servers on one Redis.
//
//   node tests/node/cluster/emitter.mjs --redis URL [--key PREFIX] [--nsp /custom]
//        [--to ROOM]... [--except ROOM]... ACTION [ARG...]
//
// ACTION:
//   emit EVENT [JSON...]              emitter.to(...).except(...).emit(EVENT, ...args)
//   server-side-emit EVENT [JSON...]  emitter.serverSideEmit(EVENT, ...args)
//   sockets-join ROOM                 emitter.in(...).socketsJoin(ROOM)
//   sockets-leave ROOM                emitter.in(...).socketsLeave(ROOM)
//   disconnect-sockets [true|false]   emitter.in(...).disconnectSockets(close)
//
// Each JSON argument is parsed; {"$bin":"0102"} is a Buffer. Prints `published` once Redis has
// taken the message, then exits.
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    redis: { type: 'string' },
    key: { type: 'string' },
    nsp: { type: 'string', default: '/' },
    to: { type: 'string', multiple: true, default: [] },
    except: { type: 'string', multiple: true, default: [] },
  },
});
if (values.redis === undefined || positionals.length === 0) {
  console.error('usage: emitter.mjs --redis URL [--key K] [--nsp N] [--to R]... [--except R]... ACTION [ARG...]');
  process.exit(2);
}

const revive = (_key, value) =>
  value && typeof value === 'object' && typeof value.$bin === 'string' ? Buffer.from(value.$bin, 'hex') : value;
const [action, ...rest] = positionals;

const client = createClient({ url: values.redis });
client.on('error', (err) => console.error(`redis client error: ${err.message}`));
await client.connect();
const emitter = new Emitter(client, values.key !== undefined ? { key: values.key } : {}).of(values.nsp);
let operator = emitter.to(values.to);
if (values.except.length > 0) operator = operator.except(values.except);

switch (action) {
  case 'emit': {
    const [event, ...args] = rest;
    operator.emit(event, ...args.map((text) => JSON.parse(text, revive)));
    break;
  }
  case 'server-side-emit': {
    const [event, ...args] = rest;
    emitter.serverSideEmit(event, ...args.map((text) => JSON.parse(text, revive)));
    break;
  }
  case 'sockets-join':
    operator.socketsJoin(rest[0]);
    break;
  case 'sockets-leave':
    operator.socketsLeave(rest[0]);
    break;
  case 'disconnect-sockets':
    operator.disconnectSockets(rest[0] === 'true');
    break;
  default:
    console.error(`unknown action ${action}`);
    process.exit(2);
}
// QUIT is sent after the PUBLISH: when it is answered, Redis has taken the message.
await client.quit();
console.log('published');
