// Test vectors for our notepack.io-compatible msgpack codec
// (src/msgpack.rs), made by notepack.io 3.0.1 itself, the codec of
// @socket.io/redis-adapter and @socket.io/redis-emitter.
//
//   node tests/node/msgpack_vectors.mjs     prints one JSON object on stdout
//
// Three kinds of vectors, each {name, kind, ...}:
//   json     {source, hex, seen}: JSON.parse(source) encoded by notepack; `seen` is
//            JSON.stringify(decode(hex)), what a Socket.IO client would get
//   special  {source, hex, seen?}: like json, but `source` is tagged JSON read with a reviver:
//            {"$bin":"0102"} is a Buffer, {"$date":MS} a Date, {"$undefined":true} undefined
//   decode   {hex, seen | error}: bytes notepack decodes (or refuses) that its encoder
//            does not write
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const notepack = require('notepack.io');

const vectors = [];

function json(name, source) {
  const bytes = notepack.encode(JSON.parse(source));
  vectors.push({
    name,
    kind: 'json',
    source,
    hex: bytes.toString('hex'),
    seen: JSON.stringify(notepack.decode(bytes)),
  });
}

function revive(_key, value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if (typeof value.$bin === 'string') return Buffer.from(value.$bin, 'hex');
    if (typeof value.$date === 'number') return new Date(value.$date);
    if (value.$undefined === true) return undefined;
  }
  return value;
}

function special(name, source, withSeen = true) {
  const bytes = notepack.encode(JSON.parse(source, revive));
  const vector = { name, kind: 'special', source, hex: bytes.toString('hex') };
  if (withSeen) vector.seen = JSON.stringify(notepack.decode(bytes));
  vectors.push(vector);
}

function decodeOnly(name, hex) {
  const vector = { name, kind: 'decode', hex };
  try {
    vector.seen = JSON.stringify(notepack.decode(Buffer.from(hex, 'hex')));
  } catch (err) {
    vector.error = err.message;
  }
  vectors.push(vector);
}

// Scalars: every integer width notepack picks, floats, strings by length.
json('null', 'null');
json('true', 'true');
json('false', 'false');
for (const n of [
  '0', '1', '127', '128', '255', '256', '65535', '65536', '4294967295', '4294967296',
  '9007199254740991', '9223372036854775808', '18446744073709549568',
  '-1', '-32', '-33', '-128', '-129', '-32768', '-32769', '-2147483648', '-2147483649',
  '-9007199254740991', '-9223372036854775808',
]) {
  json(`integer ${n}`, n);
}
json('an integral float is an integer', '1.0');
json('a large integral float', '1e15');
for (const n of ['0.5', '-0.5', '3.141592653589793', '1.5e300', '-2.5e-300']) {
  json(`float ${n}`, n);
}
const repeat = (char, count) => JSON.stringify(char.repeat(count));
json('empty string', '""');
json('fixstr 31', repeat('a', 31));
json('str8 32', repeat('a', 32));
json('str8 255', repeat('a', 255));
json('str16 256', repeat('b', 256));
json('str16 65535', repeat('c', 65535));
json('str32 65536', repeat('d', 65536));
json('two-byte and three-byte UTF-8', '"é한글"');
json('four-byte UTF-8 (a surrogate pair in JS)', '"😀 ok"');
json('escaped control characters', '"line\\nnext\\u0000"');

// Arrays and maps by size.
json('empty array', '[]');
json('fixarray 15', JSON.stringify(Array.from({ length: 15 }, (_, i) => i)));
json('array16 16', JSON.stringify(Array.from({ length: 16 }, (_, i) => i)));
json('array32 65536', JSON.stringify(new Array(65536).fill(0)));
json('empty map', '{}');
json('fixmap 15', JSON.stringify(Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i]))));
json('map16 16', JSON.stringify(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))));
json('map32 65536', JSON.stringify(Object.fromEntries(Array.from({ length: 65536 }, (_, i) => [`k${i}`, 0]))));
json('JS key order: array-index keys first, ascending', '{"b":1,"10":2,"a":3,"2":4,"01":5,"-1":6,"4294967295":7,"4294967294":8}');
json('a duplicate key keeps its first place and its last value', '{"a":1,"b":2,"a":3}');
json('nested', '{"rooms":["r1","r2"],"except":[],"flags":{"volatile":true,"timeout":2000},"deep":[[[{"x":null}]]]}');
json(
  'a classic broadcast without binary',
  '["Zq3kLm",{"type":2,"data":["news","Hello Socket.IO",{"n":1.5}],"nsp":"/"},{"rooms":["room1"],"except":[],"flags":{}}]',
);

// Buffers, undefined and Dates: what JSON cannot hold.
special('bin8 empty', '{"$bin":""}');
special('bin8 3 bytes', '{"$bin":"010203"}');
special('bin8 255 bytes', `{"$bin":"${'ab'.repeat(255)}"}`);
special('bin16 256 bytes', `{"$bin":"${'cd'.repeat(256)}"}`);
special('bin32 65536 bytes', `{"$bin":"${'ef'.repeat(65536)}"}`);
special(
  'a classic broadcast with a top-level and a nested Buffer',
  '["Zq3kLm",{"type":2,"data":["file",{"$bin":"010203"},{"name":"a.txt","file":{"$bin":"0405"}}],"nsp":"/custom"},{"rooms":[],"except":["x"],"flags":{}}]',
  false,
);
special('undefined in an array is nil', '[1,{"$undefined":true},2]');
special('undefined in a map drops the key', '{"a":{"$undefined":true},"b":1}');
for (const ms of [0, 1000, 1500, -1, -1500, 1700000000123, 4294967295000, 4294967296000, 17179869183999, 17179869184000, -62135596800000, 253402300800000]) {
  special(`Date ${ms}`, `{"$date":${ms}}`);
}

// Bytes notepack reads but its encoder never writes, and bytes it refuses.
decodeOnly('float32', 'ca3fc00000');
decodeOnly('float32 in a map', '81a178ca40490fdb');
decodeOnly('fixext1 type 0 is undefined (null in JSON)', '92d40000c3');
decodeOnly('timestamp96 with nanoseconds', 'c70cff0000000100000000000003e8');
decodeOnly('trailing bytes', 'c0c0');
decodeOnly('a truncated string', 'a5616263');
decodeOnly('a truncated array32 header claiming 4 billion items', 'ddffffffff');
decodeOnly('a truncated map', '82a161');

process.stdout.write(JSON.stringify({ notepack: require('notepack.io/package.json').version, vectors }) + '\n');
