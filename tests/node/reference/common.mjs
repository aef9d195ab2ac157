// Shared bits of the reference servers: CLI flags and the "listening on" line.
import { parseArgs } from 'node:util';

/**
 * Parses the flags common to both reference servers (and to our Rust examples):
 *   --port N              0 = ephemeral (default 0)
 *   --ping-interval MS    engine.io pingInterval
 *   --ping-timeout MS     engine.io pingTimeout
 *   --max-payload BYTES   engine.io maxHttpBufferSize
 *   --transports LIST     engine.io transports, e.g. websocket or websocket,polling
 *   --allow-upgrades BOOL engine.io allowUpgrades
 *   --cookie NAME         engine.io cookie { name: NAME } (the other fields: engine.io's defaults)
 *   --cors-origin LIST    when given: cors { origin: ORIGIN (one) or [ORIGIN, ...] (several)
 *                         or '*', credentials: true }, with, when given:
 *   --cors-methods LIST, --cors-allowed-headers LIST, --cors-exposed-headers LIST (arrays),
 *   --cors-max-age SECONDS
 *   --allow-eio3          engine.io allowEIO3: true (socket.io 2.x clients)
 *   --initial-header 'Name: value', --header 'Name: value': added by an
 *                         `initial_headers` / `headers` listener (see addHeaderListeners)
 * plus `extra` (name -> parseArgs option) for server-specific flags.
 * Returns { port, engineOpts, values, int, addHeaderListeners }.
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
      transports: { type: 'string' },
      'allow-upgrades': { type: 'string' },
      cookie: { type: 'string' },
      'cors-methods': { type: 'string' },
      'cors-allowed-headers': { type: 'string' },
      'cors-exposed-headers': { type: 'string' },
      'cors-max-age': { type: 'string' },
      'initial-header': { type: 'string' },
      header: { type: 'string' },
      'allow-eio3': { type: 'boolean' },
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
  const list = (name) => (values[name] === undefined ? undefined : values[name].split(',').map((s) => s.trim()));
  if (values.transports !== undefined) engineOpts.transports = list('transports');
  if (values['allow-upgrades'] !== undefined) engineOpts.allowUpgrades = values['allow-upgrades'] !== 'false';
  if (values.cookie !== undefined) engineOpts.cookie = { name: values.cookie };
  if (values['allow-eio3']) engineOpts.allowEIO3 = true;
  if (values['cors-origin'] !== undefined) {
    const origins = list('cors-origin');
    engineOpts.cors = { origin: origins.length === 1 ? origins[0] : origins, credentials: true };
    if (values['cors-methods'] !== undefined) engineOpts.cors.methods = list('cors-methods');
    if (values['cors-allowed-headers'] !== undefined) engineOpts.cors.allowedHeaders = list('cors-allowed-headers');
    if (values['cors-exposed-headers'] !== undefined) engineOpts.cors.exposedHeaders = list('cors-exposed-headers');
    if (values['cors-max-age'] !== undefined) engineOpts.cors.maxAge = int('cors-max-age');
  }
  const header = (name) => {
    const text = values[name];
    if (text === undefined) return undefined;
    const at = text.indexOf(':');
    if (at < 0) {
      console.error(`invalid --${name}: ${text} (expected 'Name: value')`);
      process.exit(2);
    }
    return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
  };
  const initialHeader = header('initial-header');
  const everyHeader = header('header');
  /** Registers the --initial-header / --header listeners on an engine.io server. */
  const addHeaderListeners = (engine) => {
    if (initialHeader) engine.on('initial_headers', (headers) => { headers[initialHeader[0]] = initialHeader[1]; });
    if (everyHeader) engine.on('headers', (headers) => { headers[everyHeader[0]] = everyHeader[1]; });
  };
  return { port: int('port'), engineOpts, values, int, addHeaderListeners };
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
