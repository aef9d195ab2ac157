// Shared bits of the reference servers: CLI flags and the "listening on" line.
import { parseArgs } from 'node:util';

/**
 * Parses the flags common to both reference servers (and to our Rust examples):
 *   --port N              0 = ephemeral (default 0)
 *   --ping-interval MS    engine.io pingInterval
 *   --ping-timeout MS     engine.io pingTimeout
 *   --max-payload BYTES   engine.io maxHttpBufferSize
 *   --cors-origin ORIGIN  when given: cors { origin: ORIGIN, credentials: true }
 * plus `extra` (name -> parseArgs option) for server-specific flags.
 * Returns { port, engineOpts, values }.
 */
export function parseServerArgs(extra = {}) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      port: { type: 'string', default: '0' },
      'ping-interval': { type: 'string' },
      'ping-timeout': { type: 'string' },
      'max-payload': { type: 'string' },
      'cors-origin': { type: 'string' },
      ...extra,
    },
  });
  const int = (name) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) {
      console.error(`invalid --${name}: ${raw}`);
      process.exit(2);
    }
    return n;
  };
  const engineOpts = {};
  const pingInterval = int('ping-interval');
  const pingTimeout = int('ping-timeout');
  const maxPayload = int('max-payload');
  if (pingInterval !== undefined) engineOpts.pingInterval = pingInterval;
  if (pingTimeout !== undefined) engineOpts.pingTimeout = pingTimeout;
  if (maxPayload !== undefined) engineOpts.maxHttpBufferSize = maxPayload;
  if (values['cors-origin'] !== undefined) {
    engineOpts.cors = { origin: values['cors-origin'], credentials: true };
  }
  return { port: int('port'), engineOpts, values, int };
}

/** Listens on 127.0.0.1:port and prints the one stdout line test runners wait for. */
export function listen(httpServer, port) {
  httpServer.on('error', (err) => {
    console.error(`server error: ${err.stack || err}`);
    process.exit(1);
  });
  httpServer.listen(port, '127.0.0.1', () => {
    const addr = httpServer.address();
    process.stdout.write(`listening on 127.0.0.1:${addr.port}\n`);
  });
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
