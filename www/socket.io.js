/*
 * socket.io.js: a small Socket.IO client, written to be read.
 *
 * It stands in for the official bundle served at /socket.io/socket.io.js and
 * speaks the same protocol (Socket.IO v5 over Engine.IO v4, as socket.io 4.x):
 *
 *   var socket = io.connect('http://localhost:8005', { path: '/socket.io' });
 *   socket.on('news', function (data) { socket.emit('reply', 'Hello Node.JS'); });
 *
 * Two layers; every packet on the wire carries both:
 *   Engine.IO (the connection), first character = packet type:
 *     0 open  1 close  2 ping  3 pong  4 message  5 upgrade  6 noop
 *   Socket.IO (events), inside Engine.IO "4 message" packets:
 *     0 CONNECT  1 DISCONNECT  2 EVENT  3 ACK  4 CONNECT_ERROR  5 BINARY_EVENT  6 BINARY_ACK
 *   So 42["news","Hello Socket.IO"] is Engine.IO 4 (message) + Socket.IO 2 (EVENT).
 *
 * A session with the default transports ['polling', 'websocket']:
 *   GET  /socket.io/?EIO=4&transport=polling&t=1    <- 0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
 *   POST /socket.io/?EIO=4&transport=polling&t=2&sid=abc   40               (join namespace "/")
 *   GET  /socket.io/?EIO=4&transport=polling&t=3&sid=abc   <- 40{"sid":"xyz"} (socket.id = "xyz")
 *   WS   /socket.io/?EIO=4&transport=websocket&sid=abc     -> 2probe  <- 3probe  (pending GET <- 6)  -> 5
 *   WS   <- 42["news","Hello Socket.IO"]   -> 42["reply","Hello Node.JS"]   <- 2 (ping)  -> 3 (pong)
 *
 * Supported: polling, WebSocket, the upgrade between them, WebSocket-only mode
 * (transports: ['websocket']), heartbeat and ping timeout, namespaces
 * (io('http://host/custom')), auth, acknowledgements both ways, binary arguments
 * (ArrayBuffer, typed arrays) both ways, reconnection with the official backoff,
 * and the official disconnect reasons.
 * Left out: multiplexing (every io() call opens its own connection, as with
 * forceNew), Blob/File arguments, ack timeouts (socket.timeout()), emitWithAck,
 * volatile/compress, onAny, splitting big polling POSTs at maxPayload,
 * connection state recovery, WebTransport, beforeunload/offline handling.
 * No dependencies; plain ES2017.
 */
(function (global) {
  'use strict';

  // ==== A tiny event emitter, used by every class below ======================
  class Emitter {
    constructor() { this._listeners = {}; }
    on(event, fn) { (this._listeners[event] = this._listeners[event] || []).push(fn); return this; }
    once(event, fn) {
      const wrapper = (...args) => { this.off(event, wrapper); fn.apply(this, args); };
      wrapper.fn = fn;
      return this.on(event, wrapper);
    }
    off(event, fn) { // off(): all events; off(event): all listeners of one event
      if (event === undefined) this._listeners = {};
      else if (fn === undefined) delete this._listeners[event];
      else if (this._listeners[event]) this._listeners[event] = this._listeners[event].filter((l) => l !== fn && l.fn !== fn);
      return this;
    }
    // Calls local listeners. Socket overrides emit() (it sends to the server) and
    // uses emitLocal() for its own 'connect', 'disconnect', ... events.
    emitLocal(event, ...args) { (this._listeners[event] || []).slice().forEach((fn) => fn.apply(this, args)); return this; }
    emit(event, ...args) { return this.emitLocal(event, ...args); }
  }
  Emitter.prototype.removeListener = Emitter.prototype.removeAllListeners = Emitter.prototype.off;

  // on() that returns its own "unsubscribe" function
  const subscribe = (emitter, event, fn) => { emitter.on(event, fn); return () => emitter.off(event, fn); };

  // ==== Binary helpers: ArrayBuffer and typed arrays (not Blob) ==============
  const isBinary = (obj) => obj instanceof ArrayBuffer || ArrayBuffer.isView(obj);
  function toBase64(data) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }
  function fromBase64(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  // ==== Engine.IO packets: { type: 'message', data: '2["news","hi"]' } <-> 42["news","hi"]
  const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
  const SEPARATOR = '\x1e'; // a polling body holds several packets joined by "record separator"

  function encodeEioPacket(packet, binaryFrames) {
    if (isBinary(packet.data)) {
      // Binary has no type character. WebSocket: the bytes as a binary frame.
      // Polling is text, so: "b" + base64, e.g. bAQID for the bytes 1,2,3.
      return binaryFrames ? packet.data : 'b' + toBase64(packet.data);
    }
    // 42["reply","Hello Node.JS"] (message), 3 (pong), 2probe (ping + "probe"), 5 (upgrade), 1 (close)
    return EIO_TYPES.indexOf(packet.type) + (packet.data === undefined ? '' : packet.data);
  }

  function decodeEioPacket(raw) {
    if (typeof raw !== 'string') return { type: 'message', data: raw }; // binary WebSocket frame
    if (raw[0] === 'b') return { type: 'message', data: fromBase64(raw.slice(1)) }; // polling binary
    const type = EIO_TYPES[raw[0]];
    if (!type) return { type: 'error', data: 'parser error' };
    return raw.length > 1 ? { type, data: raw.slice(1) } : { type };
  }

  // ==== Transport 1: HTTP long-polling =======================================
  // One GET always waits for the server ("long poll"); sending is a POST.
  // Events: 'packet', 'drain' (POST done), 'pollComplete', 'error', 'close'.
  class Polling extends Emitter {
    constructor(engine) {
      super();
      Object.assign(this, { name: 'polling', engine, readyState: 'closed', aborter: new AbortController() });
      this.polling = false;  // a GET is in flight
      this.writable = false; // false while a POST is in flight (the server forbids two at once)
    }
    open() { this.readyState = 'opening'; this.poll(); } // the first GET is the handshake
    poll() {
      this.polling = true;
      // GET /socket.io/?EIO=4&transport=polling&t=lx2k9a&sid=abc   (t: cache buster; no sid on the first GET)
      this.request('GET', undefined, this.aborter.signal)
        .then((body) => this.onData(body), () => this.onError('xhr poll error'));
    }
    onData(body) {
      // e.g.  40{"sid":"xyz"}\x1e42["news","Hello Socket.IO"]  (two packets)
      for (const raw of body.split(SEPARATOR)) {
        const packet = decodeEioPacket(raw);
        if (this.readyState === 'opening' && packet.type === 'open') { // 0{"sid":...}: now we may POST
          this.readyState = 'open';
          this.writable = true;
        }
        if (packet.type === 'close') { this.readyState = 'closed'; return this.emit('close'); } // 1: session over
        this.emit('packet', packet); // includes 6 (noop): the server ends our GET with it when we upgrade
      }
      if (this.readyState !== 'closed') {
        this.polling = false;
        this.emit('pollComplete');
        if (this.readyState === 'open') this.poll(); // next long poll (not while pausing)
      }
    }
    send(packets) {
      this.writable = false;
      // POST body: 42["reply","Hello Node.JS"]\x1e3   (packets that piled up while the last POST ran)
      const body = packets.map((p) => encodeEioPacket(p, false)).join(SEPARATOR);
      this.request('POST', body, this.aborter.signal)
        .then(() => { this.writable = true; this.emit('drain'); }, () => this.onError('xhr post error'));
    }
    request(method, body, signal) {
      const init = { method, body, signal, cache: 'no-store' };
      if (body !== undefined) init.headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
      return fetch(this.engine.uri('polling'), init).then((res) => {
        if (!res.ok) throw new Error('HTTP ' + res.status); // e.g. 400 "Session ID unknown"
        return res.text();
      });
    }
    // For the upgrade: stop polling once the GET and POST in flight are done,
    // so that no packet is lost between the two transports.
    pause(onPause) {
      this.readyState = 'pausing';
      let waiting = 0;
      const done = () => { if (--waiting === 0) { this.readyState = 'paused'; onPause(); } };
      if (this.polling) { waiting++; this.once('pollComplete', done); } // the server answers it, with 6 if idle
      if (!this.writable) { waiting++; this.once('drain', done); }
      if (waiting === 0) { this.readyState = 'paused'; onPause(); }
    }
    close() {
      // Goodbye: POST "1" (Engine.IO close) so the server frees the session now. Not aborted below.
      if (this.readyState === 'open' && this.writable) {
        fetch(this.engine.uri('polling'), { method: 'POST', body: '1', keepalive: true,
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }).catch(() => {});
      }
      this.readyState = 'closed';
      this.aborter.abort(); // cancel the pending GET
    }
    onError(message) {
      if (this.readyState !== 'closed') { this.readyState = 'closed'; this.emit('error', message); } // else: our own abort
    }
  }

  // ==== Transport 2: WebSocket, one Engine.IO packet per frame ===============
  class WS extends Emitter {
    constructor(engine) {
      super();
      Object.assign(this, { name: 'websocket', engine, readyState: 'closed', writable: false });
    }
    open() {
      this.readyState = 'opening';
      // ws://localhost:8005/socket.io/?EIO=4&transport=websocket&sid=abc  (upgrade: the polling session's sid)
      // ws://localhost:8005/socket.io/?EIO=4&transport=websocket          (WebSocket only: 0{...} is the first frame)
      const ws = this.ws = new WebSocket(this.engine.uri('websocket'));
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => { this.readyState = 'open'; this.writable = true; this.emit('open'); };
      ws.onmessage = (e) => this.emit('packet', decodeEioPacket(e.data));
      ws.onerror = () => { if (this.readyState !== 'closed') this.emit('error', 'websocket error'); };
      ws.onclose = () => { if (this.readyState !== 'closed') { this.readyState = 'closed'; this.emit('close'); } };
    }
    send(packets) {
      this.writable = false;
      packets.forEach((p) => this.ws.send(encodeEioPacket(p, true))); // text or binary frame
      Promise.resolve().then(() => { this.writable = true; this.emit('drain'); }); // async, like polling
    }
    close() { this.readyState = 'closed'; if (this.ws) this.ws.close(); }
  }

  // ==== The Engine.IO socket: one connection, whatever the transport =========
  // This is socket.io.engine; socket.io.engine.transport.name says 'polling' or
  // 'websocket'. Events: 'open', 'data', 'ping', 'upgrading', 'upgrade',
  // 'upgradeError', 'drain', 'error', 'close' (with a reason).
  let cacheBuster = 0;

  class Engine extends Emitter {
    constructor(url, opts) {
      super();
      this.secure = url.protocol === 'https:' || url.protocol === 'wss:';
      this.host = url.host;
      this.path = opts.path.replace(/\/$/, '') + '/'; // '/socket.io' -> '/socket.io/'
      Object.assign(this, { query: opts.query, transports: opts.transports, upgrade: opts.upgrade !== false });
      Object.assign(this, { readyState: 'opening', writeBuffer: [], upgrading: false, id: null });
      this.setTransport(this.createTransport(this.transports[0]));
      this.transport.open();
    }
    uri(name) {
      const query = Object.assign({}, this.query, { EIO: 4, transport: name });
      if (name === 'polling') query.t = Date.now().toString(36) + (cacheBuster++).toString(36);
      if (this.id) query.sid = this.id;
      const scheme = (name === 'polling' ? 'http' : 'ws') + (this.secure ? 's' : '');
      return scheme + '://' + this.host + this.path + '?' + new URLSearchParams(query);
    }
    createTransport(name) { return name === 'websocket' ? new WS(this) : new Polling(this); }
    setTransport(transport) {
      if (this.transport) this.transport.off(); // forget the old one
      this.transport = transport;
      transport.on('packet', (p) => this.onPacket(p)).on('drain', () => this.onDrain())
        .on('error', (message) => this.onError(message)).on('close', () => this.onClose('transport close'));
    }
    onPacket(packet) {
      if (this.readyState === 'closed') return;
      this.emit('packet', packet); // handy for debugging: socket.io.engine.on('packet', console.log)
      switch (packet.type) {
        case 'open': // 0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
          return this.onHandshake(JSON.parse(packet.data));
        case 'ping': // server: 2  ->  client: 3
          this.resetPingTimeout(); this.sendPacket('pong');
          return this.emit('ping');
        case 'message': // 4...: the rest is for the Socket.IO layer (the Manager)
          return this.emit('data', packet.data);
        case 'close': return this.onClose('transport close');
        case 'error': return this.onError('parser error');
        // 6 (noop) and 3 (pong) need nothing
      }
    }
    onHandshake(data) {
      Object.assign(this, { id: data.sid, pingInterval: data.pingInterval, pingTimeout: data.pingTimeout, readyState: 'open' });
      this.upgrades = data.upgrades.filter((name) => this.transports.indexOf(name) !== -1);
      this.emit('open');
      this.flush();
      if (this.readyState === 'open' && this.upgrade && this.transport.name === 'polling') {
        this.upgrades.forEach((name) => this.probe(name)); // i.e. 'websocket'
      }
      this.resetPingTimeout();
    }
    // The server pings every pingInterval ms and wants a pong within pingTimeout ms.
    // No ping within pingInterval + pingTimeout: the connection is dead, even if
    // no transport has noticed.
    resetPingTimeout() {
      clearTimeout(this.pingTimer);
      this.pingTimer = setTimeout(() => this.onClose('ping timeout'), this.pingInterval + this.pingTimeout);
    }
    // Open a WebSocket next to the working polling transport; switch if it works.
    probe(name) {
      const probe = this.createTransport(name);
      let failed = false;
      const cleanup = () => { probe.off(); this.off('close', onEngineClose); };
      const fail = (why) => {
        if (failed) return;
        failed = true; cleanup(); probe.close();
        this.emit('upgradeError', new Error('probe error: ' + why));
      };
      const onEngineClose = () => fail('socket closed');
      probe.once('open', () => {
        probe.send([{ type: 'ping', data: 'probe' }]); // client -> server, on the new WebSocket: 2probe
        probe.once('packet', (packet) => {
          if (failed) return;
          if (packet.type !== 'pong' || packet.data !== 'probe') return fail('unexpected ' + packet.type);
          // server -> client: 3probe. The WebSocket works. Hold new packets back
          // (upgrading blocks flush()) and wait for polling to go quiet.
          this.upgrading = true;
          this.emit('upgrading', probe);
          this.transport.pause(() => {
            if (failed || this.readyState === 'closed') return;
            cleanup();
            this.transport.readyState = 'closed'; // the server drops the polling side
            this.setTransport(probe);
            probe.send([{ type: 'upgrade' }]); // client -> server: 5, "use this WebSocket from now on"
            this.emit('upgrade', probe);       // socket.io.engine.on('upgrade', (transport) => ...)
            this.upgrading = false;
            this.flush(); // what was held back during the switch
          });
        });
      });
      probe.once('error', () => fail('websocket error'));
      probe.once('close', () => fail('transport closed'));
      this.once('close', onEngineClose);
      probe.open();
    }
    sendPacket(type, data) {
      if (this.readyState !== 'closing' && this.readyState !== 'closed') { this.writeBuffer.push({ type, data }); this.flush(); }
    }
    write(data) { this.sendPacket('message', data); } // an Engine.IO message (4) carrying Socket.IO data
    flush() {
      if (this.readyState !== 'closed' && this.transport.writable && !this.upgrading && this.writeBuffer.length) {
        const packets = this.writeBuffer;
        this.writeBuffer = [];
        this.transport.send(packets);
      }
    }
    onDrain() { if (this.writeBuffer.length) this.flush(); else this.emit('drain'); }
    // Closing from our side: let buffered packets (e.g. 41) and a running upgrade finish first.
    close() {
      if (this.readyState !== 'opening' && this.readyState !== 'open') return this;
      this.readyState = 'closing';
      const close = () => this.onClose('forced close');
      const afterUpgrade = () => { this.off('upgrade', afterUpgrade).off('upgradeError', afterUpgrade); close(); };
      const whenIdle = () => (this.upgrading ? this.on('upgrade', afterUpgrade).on('upgradeError', afterUpgrade) : close());
      const postInFlight = this.transport.readyState === 'open' && !this.transport.writable;
      if (this.writeBuffer.length || postInFlight) return this.once('drain', whenIdle);
      whenIdle();
      return this;
    }
    onError(message) { this.emit('error', new Error(message)); this.onClose('transport error'); }
    onClose(reason) {
      if (this.readyState === 'closed') return;
      clearTimeout(this.pingTimer);
      this.transport.off(); // ignore whatever the transport still reports
      this.transport.close();
      Object.assign(this, { readyState: 'closed', id: null, writeBuffer: [] });
      this.emit('close', reason);
    }
  }

  // ==== Socket.IO packets, inside Engine.IO messages ==========================
  //   4 <type> [<attachments>-] [<namespace>,] [<ack id>] [<JSON data>]
  //   42["news","Hello Socket.IO"]          EVENT on "/"
  //   42/custom,["hi","from /custom"]       EVENT on "/custom"
  //   4212["echo",1]                        EVENT asking for an ack, id 12
  //   4312[1]                               ACK of id 12
  //   451-["file",{"_placeholder":true,"num":0}]  then 1 binary message   BINARY_EVENT
  const CONNECT = 0, DISCONNECT = 1, EVENT = 2, ACK = 3, CONNECT_ERROR = 4, BINARY_EVENT = 5, BINARY_ACK = 6;

  // Returns the text part, then the binary attachments (one Engine.IO message each).
  function encodeSioPacket(packet) {
    let type = packet.type;
    let data = packet.data;
    const buffers = [];
    if (type === EVENT || type === ACK) {
      data = deconstruct(data, buffers); // each ArrayBuffer -> {"_placeholder":true,"num":i}
      if (buffers.length) type = type === EVENT ? BINARY_EVENT : BINARY_ACK;
    }
    let text = String(type);
    if (buffers.length) text += buffers.length + '-';
    if (packet.nsp !== '/') text += packet.nsp + ',';
    if (packet.id !== undefined) text += packet.id;
    if (data !== undefined) text += JSON.stringify(data);
    return [text].concat(buffers);
  }

  function deconstruct(data, buffers) {
    if (isBinary(data)) return { _placeholder: true, num: buffers.push(data) - 1 };
    if (Array.isArray(data)) return data.map((item) => deconstruct(item, buffers));
    if (data && typeof data === 'object' && typeof data.toJSON !== 'function') { // (Date has toJSON)
      const copy = {};
      Object.keys(data).forEach((key) => { copy[key] = deconstruct(data[key], buffers); });
      return copy;
    }
    return data;
  }

  function reconstruct(data, buffers) {
    if (data && data._placeholder === true && typeof data.num === 'number') return buffers[data.num];
    if (Array.isArray(data)) return data.map((item) => reconstruct(item, buffers));
    if (data && typeof data === 'object') Object.keys(data).forEach((key) => { data[key] = reconstruct(data[key], buffers); });
    return data;
  }

  // '2/custom,17["news","hi"]' -> { type: 2, nsp: '/custom', id: 17, data: ['news', 'hi'] }
  function decodeSioString(text) {
    const packet = { type: Number(text[0]), nsp: '/' };
    if (!(packet.type >= CONNECT && packet.type <= BINARY_ACK)) throw new Error('unknown packet type');
    let i = 1;
    if (packet.type === BINARY_EVENT || packet.type === BINARY_ACK) { // "51-": one attachment follows
      const dash = text.indexOf('-', i);
      packet.attachments = Number(text.slice(i, dash));
      if (dash === -1 || isNaN(packet.attachments)) throw new Error('illegal attachments');
      i = dash + 1;
    }
    if (text[i] === '/') { // namespace, up to the comma
      const end = text.indexOf(',', i) === -1 ? text.length : text.indexOf(',', i);
      packet.nsp = text.slice(i, end);
      i = end + 1;
    }
    const id = /^\d+/.exec(text.slice(i)); // ack id
    if (id) { packet.id = Number(id[0]); i += id[0].length; }
    if (i < text.length) packet.data = JSON.parse(text.slice(i));
    return packet;
  }

  // ==== The Manager (socket.io): owns the connection and reconnects it =======
  // Events: 'open', 'packet', 'error', 'close', 'ping', 'reconnect_attempt',
  // 'reconnect', 'reconnect_error', 'reconnect_failed'.
  class Manager extends Emitter {
    constructor(url, opts) {
      super();
      Object.assign(this, { uri: url, opts, engine: null, subs: [], _readyState: 'closed', _reconnecting: false, skipReconnect: false });
      this.attempts = 0; // reconnection attempts so far
    }
    open(callback) {
      if (this._readyState === 'open' || this._readyState === 'opening') return this;
      const engine = this.engine = new Engine(this.uri, this.opts);
      Object.assign(this, { _readyState: 'opening', skipReconnect: false });
      const failed = (err) => {
        this.cleanup();
        this._readyState = 'closed';
        this.emit('error', err); // the Socket turns it into 'connect_error'
        if (callback) callback(err);
        else if (!this._reconnecting && this.opts.reconnection && this.attempts === 0) this.reconnect();
      };
      this.subs.push(subscribe(engine, 'open', () => { this.onopen(); if (callback) callback(); }),
        subscribe(engine, 'error', failed));
      if (this.opts.timeout !== false) { // a handshake that hangs (default 20 s)
        const timer = setTimeout(() => { failed(new Error('timeout')); engine.close(); }, this.opts.timeout);
        this.subs.push(() => clearTimeout(timer));
      }
      return this;
    }
    onopen() {
      this.cleanup();
      this._readyState = 'open';
      this.emit('open'); // the Socket sends its CONNECT packet now
      const engine = this.engine;
      this.subs.push(subscribe(engine, 'data', (data) => this.ondata(data)),
        subscribe(engine, 'ping', () => this.emit('ping')),
        subscribe(engine, 'error', (err) => this.emit('error', err)),
        subscribe(engine, 'close', (reason) => this.onclose(reason)));
    }
    // Engine.IO message -> Socket.IO packet. A binary packet is a text part followed
    // by its attachments (binary messages); collect them all before passing it on.
    ondata(data) {
      try {
        if (typeof data === 'string') {
          if (this.pending) throw new Error('text while waiting for binary attachments');
          const packet = decodeSioString(data);
          if (packet.attachments) this.pending = { packet, buffers: [] };
          else this.emit('packet', packet);
        } else {
          const pending = this.pending;
          if (!pending) throw new Error('binary data without a binary packet');
          if (pending.buffers.push(data) === pending.packet.attachments) {
            this.pending = null;
            pending.packet.data = reconstruct(pending.packet.data, pending.buffers);
            this.emit('packet', pending.packet);
          }
        }
      } catch (err) {
        this.onclose('parse error');
        this.engine.close();
      }
    }
    packet(packet) { encodeSioPacket(packet).forEach((part) => this.engine.write(part)); }
    cleanup() { this.subs.forEach((unsubscribe) => unsubscribe()); this.subs = []; this.pending = null; }
    _close() { // the Socket left on purpose: close, and no reconnection
      Object.assign(this, { skipReconnect: true, _reconnecting: false });
      clearTimeout(this.reconnectTimer);
      this.onclose('forced close');
      if (this.engine) this.engine.close();
    }
    onclose(reason) {
      this.cleanup();
      Object.assign(this, { attempts: 0, _readyState: 'closed' });
      this.emit('close', reason); // the Socket emits 'disconnect' with this reason
      if (this.opts.reconnection && !this.skipReconnect) this.reconnect();
    }
    // The official backoff: 1 s, 2 s, 4 s, then 5 s; each randomly up to 50 %
    // shorter or longer (randomizationFactor), and never above 5 s.
    delay() {
      let ms = this.opts.reconnectionDelay * Math.pow(2, this.attempts++);
      const jitter = this.opts.randomizationFactor;
      if (jitter > 0 && jitter <= 1) {
        const rand = Math.random();
        const deviation = Math.floor(rand * jitter * ms);
        ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
      }
      return Math.min(ms, this.opts.reconnectionDelayMax) | 0;
    }
    reconnect() {
      if (this._reconnecting || this.skipReconnect) return;
      if (this.attempts >= this.opts.reconnectionAttempts) { this.attempts = 0; return this.emit('reconnect_failed'); }
      this._reconnecting = true;
      this.reconnectTimer = setTimeout(() => {
        if (this.skipReconnect) return;
        this.emit('reconnect_attempt', this.attempts);
        this.open((err) => {
          this._reconnecting = false;
          if (err) { this.reconnect(); return this.emit('reconnect_error', err); }
          const attempts = this.attempts;
          this.attempts = 0;
          this.emit('reconnect', attempts);
        });
      }, this.delay());
    }
  }

  // ==== The Socket: what io() returns; one namespace ('/' by default) ========
  const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

  class Socket extends Emitter {
    constructor(manager, nsp, opts) {
      super();
      this.io = manager; // so socket.io.engine.transport.name works as with the official client
      Object.assign(this, { nsp, auth: opts.auth, id: undefined, connected: false, subs: null });
      this.ids = 0;     // next ack id
      this.acks = {};   // ack id -> callback
      this.sendBuffer = [];    // emit() before 'connect' waits here...
      this.receiveBuffer = []; // ...and so do events that arrive before it
      if (opts.autoConnect !== false) this.connect();
    }
    get disconnected() { return !this.connected; }
    get active() { return !!this.subs; } // false after a deliberate disconnect, on either side
    connect() {
      if (this.connected) return this;
      if (!this.subs) {
        const io = this.io;
        this.subs = [subscribe(io, 'open', () => this.onopen()),
          subscribe(io, 'packet', (p) => this.onpacket(p)),
          subscribe(io, 'error', (err) => { if (!this.connected) this.emitLocal('connect_error', err); }),
          subscribe(io, 'close', (reason) => this.onclose(reason))];
      }
      if (!this.io._reconnecting) this.io.open();
      if (this.io._readyState === 'open') this.onopen();
      return this;
    }
    open() { return this.connect(); }
    onopen() {
      // 40   or with auth 40{"token":"abc"}   or on a namespace 40/custom,{"token":"abc"}
      const send = (data) => this.packet({ type: CONNECT, data });
      if (typeof this.auth === 'function') this.auth(send); // auth: (cb) => cb({ token })
      else send(this.auth);
    }
    onpacket(packet) {
      if (packet.nsp !== this.nsp) return;
      switch (packet.type) {
        case CONNECT: // 40{"sid":"xyz"}: we are in
          if (packet.data && packet.data.sid) return this.onconnect(packet.data.sid);
          return this.emitLocal('connect_error', new Error('invalid CONNECT packet (Socket.IO 2.x server?)'));
        case EVENT: case BINARY_EVENT: // 42["news","Hello Socket.IO"]
          return this.onevent(packet);
        case ACK: case BINARY_ACK: // 430["a",{"b":[1,2]}]
          return this.onack(packet);
        case DISCONNECT: // 41: the server called socket.disconnect(); no reconnection
          this.destroy();
          return this.onclose('io server disconnect');
        case CONNECT_ERROR: { // 44{"message":"not authorized","data":{...}}: refused by a middleware; no retry
          this.destroy();
          const err = new Error(packet.data.message);
          err.data = packet.data.data;
          return this.emitLocal('connect_error', err);
        }
      }
    }
    onconnect(id) {
      Object.assign(this, { id, connected: true });
      this.receiveBuffer.splice(0).forEach((args) => this.emitLocal.apply(this, args));
      this.sendBuffer.splice(0).forEach((packet) => this.packet(packet));
      this.emitLocal('connect');
    }
    onevent(packet) {
      const args = packet.data || [];
      // 421["question",21]: the server wants an answer; the handler gets a callback as its last argument
      if (packet.id !== undefined) args.push(this.ack(packet.id));
      if (this.connected) this.emitLocal.apply(this, args);
      else this.receiveBuffer.push(args);
    }
    ack(id) { // answer once:  431[42]  is the ACK of id 1
      let sent = false;
      return (...args) => { if (!sent) { sent = true; this.packet({ type: ACK, id, data: args }); } };
    }
    onack(packet) {
      const callback = this.acks[packet.id];
      delete this.acks[packet.id];
      if (typeof callback === 'function') callback.apply(this, packet.data || []);
    }
    // socket.emit('reply', 'Hello Node.JS')      ->  42["reply","Hello Node.JS"]
    // socket.emit('echo', 1, (answer) => {...})  ->  420["echo",1]  (ack id 0; the answer comes as 430[...])
    emit(event, ...args) {
      if (RESERVED.indexOf(event) !== -1) throw new Error('"' + event + '" is a reserved event name');
      const packet = { type: EVENT, data: [event].concat(args) };
      if (typeof packet.data[packet.data.length - 1] === 'function') {
        packet.id = this.ids++;
        this.acks[packet.id] = packet.data.pop();
      }
      if (this.connected) this.packet(packet);
      else this.sendBuffer.push(packet);
      return this;
    }
    send(...args) { return this.emit('message', ...args); }
    packet(packet) { packet.nsp = this.nsp; this.io.packet(packet); }
    onclose(reason) { Object.assign(this, { connected: false, id: undefined }); this.emitLocal('disconnect', reason); }
    destroy() { // stop listening to the Manager, and close the connection
      if (this.subs) { this.subs.forEach((unsubscribe) => unsubscribe()); this.subs = null; }
      this.io._close();
    }
    disconnect() {
      if (this.connected) this.packet({ type: DISCONNECT }); // 41: tell the server first
      this.destroy();
      if (this.connected) this.onclose('io client disconnect');
      return this;
    }
    close() { return this.disconnect(); }
  }

  // ==== io(url, opts) / io.connect(url, opts) ================================
  function lookup(uri, opts) {
    if (typeof uri === 'object') { opts = uri; uri = undefined; }
    opts = Object.assign({ path: '/socket.io', transports: ['polling', 'websocket'], upgrade: true, autoConnect: true,
      reconnection: true, reconnectionAttempts: Infinity, reconnectionDelay: 1000, reconnectionDelayMax: 5000,
      randomizationFactor: 0.5, timeout: 20000 }, opts);
    // 'http://localhost:8005' -> namespace '/';  'http://localhost:8005/custom' -> '/custom'
    const url = new URL(uri || location.origin, location.href);
    const nsp = url.pathname.replace(/\/$/, '') || '/';
    opts.query = Object.assign({}, opts.query);
    url.searchParams.forEach((value, key) => { opts.query[key] = value; });
    return new Socket(new Manager(url, opts), nsp, opts);
  }

  global.io = Object.assign(lookup, { connect: lookup, protocol: 5, Manager, Socket });
})(typeof self !== 'undefined' ? self : this);
