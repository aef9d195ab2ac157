// The benchmarks' Node reference server: socket.io 4.x from npm (tests/node/package.json, installed
// by `npm ci --prefix tests/node`) with the same handlers as our `examples/interop.rs`:
// `message-with-ack` acks its arguments, `message` answers `message-back`, `broadcast` sends
// `broadcast-back` to the whole namespace. It is the interop tests' reference server, run as is
// (same flags: --port, --ping-interval, --ping-timeout; prints `listening on 127.0.0.1:PORT`), so
// that the benchmark and the tests compare against one and the same Node program.
import '../tests/node/reference/interop.mjs';
