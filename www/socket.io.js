/*
 * socket.io.js: a small Socket.IO client, written to be read.
 *
 * This file replaces the official client bundle at /socket.io/socket.io.js. It
 * speaks the same protocol (Socket.IO v5 on top of Engine.IO v4, as socket.io
 * 4.x does) and offers the part of the official API the chapter uses:
 *
 *   var socket = io.connect('http://localhost:8005', { path: '/socket.io' });
 *   socket.on('news', function (data) { socket.emit('reply', 'Hello Node.JS'); });
 *
 * There are two layers, and every packet on the wire carries both:
 *
 *   Engine.IO (the connection): one digit = packet type, then the data.
 *     0 open   1 close   2 ping   3 pong   4 message   5 upgrade   6 noop
 *   Socket.IO (events): lives inside Engine.IO "4 message" packets.
 *     0 CONNECT  1 DISCONNECT  2 EVENT  3 ACK  4 CONNECT_ERROR  5 BINARY_EVENT  6 BINARY_ACK
 *
 *   So  42["news","Hello Socket.IO"]  is Engine.IO 4 (message) + Socket.IO 2 (EVENT).
 *
 * A typical session (default transports ['polling', 'websocket']):
 *
 *   GET  /socket.io/?EIO=4&transport=polling&t=1        <- 0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
 *   POST /socket.io/?EIO=4&transport=polling&t=2&sid=abc   40                          (connect to "/")
 *   GET  /socket.io/?EIO=4&transport=polling&t=3&sid=abc <- 40{"sid":"xyz"}            (connected; socket.id = "xyz")
 *   WS   /socket.io/?EIO=4&transport=websocket&sid=abc      -> 2probe  <- 3probe  (pause polling)  -> 5
 *   WS                                                      <- 42["news","Hello Socket.IO"]  -> 42["reply","Hello Node.JS"]
 *   WS                                                      <- 2 (ping)  -> 3 (pong)
 *
 * Supported: polling and WebSocket transports, the upgrade from one to the
 * other, WebSocket-only mode (transports: ['websocket']), heartbeat (ping/pong
 * and ping timeout), namespaces (io('http://host/custom')), auth, emit with
 * acknowledgements both ways, binary arguments (ArrayBuffer, typed arrays) both
 * ways, automatic reconnection with the official client's backoff, and the
 * official disconnect reasons.
 *
 * Left out on purpose: multiplexing (each io() call opens its own connection,
 * as if forceNew were set), Blob/File arguments, ack timeouts (socket.timeout()),
 * emitWithAck, volatile/compress flags, onAny, maxPayload splitting of large
 * polling POSTs, connection state recovery, WebTransport, and the
 * closeOnBeforeunload/offline-event handling. No dependencies, plain ES2017.
 */
(function (global) {
  'use strict';

  // ---------------------------------------------------------------------------
  // A tiny event emitter, used by every class below.
  // ---------------------------------------------------------------------------
  class Emitter {
    constructor() { this._listeners = {}; }
    on(event, fn) {
      (this._listeners[event] = this._listeners[event] || []).push(fn);
      return this;
    }
    once(event, fn) {
      const self = this;
      function wrapper() { self.off(event, wrapper); fn.apply(self, arguments); }
      wrapper.fn = fn;
      return this.on(event, wrapper);
    }
    off(event, fn) { // off() removes everything, off(event) all listeners of one event
      if (event === undefined) this._listeners = {};
      else if (fn === undefined) delete this._listeners[event];
      else if (this._listeners[event]) {
        this._listeners[event] = this._listeners[event].filter((l) => l !== fn && l.fn !== fn);
      }
      return this;
    }
    // Calls the local listeners. Socket overrides emit() (it sends to the server)
    // and uses emitLocal() for its own 'connect', 'disconnect', ... events.
    emitLocal(event, ...args) {
      (this._listeners[event] || []).slice().forEach((fn) => fn.apply(this, args));
      return this;
    }
    emit(event, ...args) { return this.emitLocal(event, ...args); }
    listeners(event) { return (this._listeners[event] || []).slice(); }
  }
  // Same names as the official emitter, so code written for it keeps working.
  Emitter.prototype.addEventListener = Emitter.prototype.on;
  Emitter.prototype.removeListener = Emitter.prototype.off;
  Emitter.prototype.removeAllListeners = Emitter.prototype.off;

  // on() that returns its own "unsubscribe" function.
  function subscribe(emitter, event, fn) {
    emitter.on(event, fn);
    return () => emitter.off(event, fn);
  }

  // ---------------------------------------------------------------------------
  // Binary helpers. ArrayBuffer and typed arrays count as binary; Blob does not.
  // ---------------------------------------------------------------------------
  function isBinary(obj) {
    return obj instanceof ArrayBuffer || ArrayBuffer.isView(obj);
  }
  function toBytes(data) {
    return data instanceof ArrayBuffer ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  function toBase64(data) {
    const bytes = toBytes(data);
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) { // in chunks: apply() has an argument limit
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }
  function fromBase64(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  // ---------------------------------------------------------------------------
  // Engine.IO packets: { type: 'message', data: '2["news","hi"]' } <-> '42["news","hi"]'
  // ---------------------------------------------------------------------------
  const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
  const SEPARATOR = '\x1e'; // polling bodies hold several packets joined by "record separator"

  function encodeEioPacket(packet, binaryFrames) {
    if (isBinary(packet.data)) {
      // Binary has no type digit. A WebSocket sends the bytes as a binary frame;
      // polling sends text, so it becomes "b" + base64:  bAQID  (= bytes 1,2,3)
      return binaryFrames ? packet.data : 'b' + toBase64(packet.data);
    }
    // 4 + '2["reply","Hello Node.JS"]'  ->  42["reply","Hello Node.JS"]
    // 3 (pong), 2probe (ping with data "probe"), 5 (upgrade), 1 (close)
    return EIO_TYPES.indexOf(packet.type) + (packet.data === undefined ? '' : packet.data);
  }

  function decodeEioPacket(raw) {
    if (typeof raw !== 'string') return { type: 'message', data: raw }; // binary WebSocket frame
    if (raw[0] === 'b') return { type: 'message', data: fromBase64(raw.slice(1)) }; // polling binary
    const type = EIO_TYPES[raw[0]];
    if (!type) return { type: 'error', data: 'parser error' };
    return raw.length > 1 ? { type, data: raw.slice(1) } : { type };
  }

  // ---------------------------------------------------------------------------
  // Transport 1: HTTP long-polling.
  // One GET is always waiting for the server ("long poll"); sending is a POST.
  // Events: 'open', 'packet', 'drain' (POST done), 'pollComplete', 'error', 'close'
  // ---------------------------------------------------------------------------
  class Polling extends Emitter {
    constructor(engine) {
      super();
      this.name = 'polling';
      this.engine = engine;
      this.readyState = 'closed';
      this.polling = false;   // is a GET in flight?
      this.writable = false;  // false while a POST is in flight (the server forbids two at once)
      this.aborter = new AbortController();
    }
    open() {
      this.readyState = 'opening';
      this.poll(); // the very first GET is the handshake
    }
    poll() {
      this.polling = true;
      // GET /socket.io/?EIO=4&transport=polling&t=lx2k9a&sid=abc
      // (no sid on the first GET; t= is a cache buster)
      this.request('GET', undefined, this.aborter.signal)
        .then((body) => this.onData(body), (err) => this.onError('xhr poll error', err));
    }
    onData(body) {
      // A body such as  40{"sid":"xyz"}\x1e42["news","Hello Socket.IO"]  holds two packets.
      const packets = body.split(SEPARATOR);
      for (let i = 0; i < packets.length; i++) {
        const packet = decodeEioPacket(packets[i]);
        // 0{"sid":...}: the handshake answer; from now on we can POST
        if (this.readyState === 'opening' && packet.type === 'open') this.onOpen();
        // 1: the server closed the session
        if (packet.type === 'close') { this.onClose(); return; }
        // 6 (noop) is also passed on; the engine ignores it. The server sends it
        // to end our pending GET when we upgrade to WebSocket.
        this.emit('packet', packet);
      }
      if (this.readyState !== 'closed') {
        this.polling = false;
        this.emit('pollComplete');
        if (this.readyState === 'open') this.poll(); // next long poll (not when pausing)
      }
    }
    onOpen() {
      this.readyState = 'open';
      this.writable = true;
      this.emit('open');
    }
    send(packets) {
      this.writable = false;
      // POST body:  42["reply","Hello Node.JS"]\x1e3   (two packets: an event and a pong)
      const body = packets.map((p) => encodeEioPacket(p, false)).join(SEPARATOR);
      this.request('POST', body, this.aborter.signal).then(() => {
        this.writable = true;
        this.emit('drain');
      }, (err) => this.onError('xhr post error', err));
    }
    request(method, body, signal) {
      const init = { method, body, signal, cache: 'no-store' };
      if (body !== undefined) init.headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
      return fetch(this.engine.uri('polling'), init).then((res) => {
        if (!res.ok) throw new Error('HTTP ' + res.status); // e.g. 400 "Session ID unknown"
        return res.text();
      });
    }
    // Used by the upgrade: stop polling, but only once the GET and the POST in
    // flight are finished, so no packet is lost between the two transports.
    pause(onPause) {
      this.readyState = 'pausing';
      let waiting = 0;
      const done = () => { if (--waiting === 0) { this.readyState = 'paused'; onPause(); } };
      if (this.polling) { waiting++; this.once('pollComplete', done); } // the server answers it with 6
      if (!this.writable) { waiting++; this.once('drain', done); }
      if (waiting === 0) { this.readyState = 'paused'; onPause(); }
    }
    close() {
      // Say goodbye with a POST of "1" (Engine.IO CLOSE) so the server frees the
      // session now, instead of after a ping timeout. Not aborted below.
      if (this.readyState === 'open' && this.writable) {
        fetch(this.engine.uri('polling'), { method: 'POST', body: '1', keepalive: true,
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }).catch(() => {});
      }
      this.readyState = 'closed';
      this.aborter.abort(); // cancel the pending GET, if any
    }
    onError(message, err) {
      if (this.readyState === 'closed') return; // aborted on purpose
      this.readyState = 'closed';
      this.emit('error', message, err);
    }
    onClose() {
      this.readyState = 'closed';
      this.emit('close');
    }
  }

  // ---------------------------------------------------------------------------
  // Transport 2: WebSocket. One Engine.IO packet per frame, no separator.
  // ---------------------------------------------------------------------------
  class WS extends Emitter {
    constructor(engine) {
      super();
      this.name = 'websocket';
      this.engine = engine;
      this.readyState = 'closed';
      this.writable = false;
    }
    open() {
      this.readyState = 'opening';
      // ws://localhost:8005/socket.io/?EIO=4&transport=websocket&sid=abc   (upgrade: sid of the polling session)
      // ws://localhost:8005/socket.io/?EIO=4&transport=websocket           (WebSocket-only: handshake comes as the first frame)
      const ws = this.ws = new WebSocket(this.engine.uri('websocket'));
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => { this.readyState = 'open'; this.writable = true; this.emit('open'); };
      ws.onmessage = (e) => this.emit('packet', decodeEioPacket(e.data));
      ws.onerror = (e) => { if (this.readyState !== 'closed') this.emit('error', 'websocket error', e); };
      ws.onclose = () => { if (this.readyState !== 'closed') { this.readyState = 'closed'; this.emit('close'); } };
    }
    send(packets) {
      this.writable = false;
      packets.forEach((p) => this.ws.send(encodeEioPacket(p, true))); // text frame or binary frame
      // WebSocket.send() only queues; report 'drain' asynchronously like polling does
      Promise.resolve().then(() => { this.writable = true; this.emit('drain'); });
    }
    close() {
      this.readyState = 'closed';
      if (this.ws) this.ws.close();
    }
  }

  // ---------------------------------------------------------------------------
  // The Engine.IO socket: one connection, whatever the transport.
  // It is socket.io.engine; socket.io.engine.transport.name is 'polling' or
  // 'websocket'. Events: 'open', 'data', 'ping', 'upgrading', 'upgrade',
  // 'upgradeError', 'drain', 'error', 'close' (with a reason).
  // ---------------------------------------------------------------------------
  let cacheBusterCount = 0;

  class Engine extends Emitter {
    constructor(url, opts) {
      super();
      this.secure = url.protocol === 'https:' || url.protocol === 'wss:';
      this.host = url.host;
      this.path = opts.path.replace(/\/$/, '') + '/'; // '/socket.io' -> '/socket.io/'
      this.query = opts.query;
      this.transports = opts.transports;
      this.upgrade = opts.upgrade !== false;
      this.readyState = 'opening';
      this.writeBuffer = [];
      this.upgrading = false;
      this.id = null;
      this.setTransport(this.createTransport(this.transports[0]));
      this.transport.open();
    }
    uri(transportName) {
      const query = Object.assign({}, this.query, { EIO: 4, transport: transportName });
      if (transportName === 'polling') query.t = Date.now().toString(36) + (cacheBusterCount++).toString(36);
      if (this.id) query.sid = this.id;
      const scheme = transportName === 'polling' ? 'http' : 'ws';
      return scheme + (this.secure ? 's' : '') + '://' + this.host + this.path + '?' + new URLSearchParams(query);
    }
    createTransport(name) {
      return name === 'websocket' ? new WS(this) : new Polling(this);
    }
    setTransport(transport) {
      if (this.transport) this.transport.off(); // forget the old one
      this.transport = transport;
      transport
        .on('packet', (p) => this.onPacket(p))
        .on('drain', () => this.onDrain())
        .on('error', (message) => this.onError(message))
        .on('close', () => this.onClose('transport close'));
    }
    onPacket(packet) {
      if (this.readyState === 'closed') return;
      this.emit('packet', packet);
      switch (packet.type) {
        case 'open': // 0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
          this.onHandshake(JSON.parse(packet.data));
          break;
        case 'ping': // server: 2  ->  client: 3
          this.resetPingTimeout();
          this.sendPacket('pong');
          this.emit('ping');
          break;
        case 'message': // 4...: hand the rest to the Socket.IO layer (the Manager)
          this.emit('data', packet.data);
          break;
        case 'close':
          this.onClose('transport close');
          break;
        case 'error':
          this.onError('parser error');
          break;
        // 'noop' (6) and 'pong' need nothing
      }
    }
    onHandshake(data) {
      this.id = data.sid;
      this.upgrades = data.upgrades.filter((name) => this.transports.indexOf(name) !== -1);
      this.pingInterval = data.pingInterval;
      this.pingTimeout = data.pingTimeout;
      this.readyState = 'open';
      this.emit('open');
      this.flush();
      if (this.readyState === 'open' && this.upgrade && this.transport.name === 'polling') {
        this.upgrades.forEach((name) => this.probe(name)); // i.e. 'websocket'
      }
      this.resetPingTimeout();
    }
    // The server pings every pingInterval ms and expects our pong within
    // pingTimeout ms. If no ping arrives within pingInterval + pingTimeout, the
    // connection is dead even if no transport noticed it.
    resetPingTimeout() {
      clearTimeout(this.pingTimer);
      this.pingTimer = setTimeout(() => this.onClose('ping timeout'), this.pingInterval + this.pingTimeout);
    }
    // Try a WebSocket next to the working polling transport, and switch if it works.
    probe(name) {
      const probe = this.createTransport(name);
      let failed = false;
      const cleanup = () => { probe.off(); this.off('close', onEngineClose); };
      const fail = (why) => {
        if (failed) return;
        failed = true;
        cleanup();
        probe.close();
        this.emit('upgradeError', new Error('probe error: ' + why));
      };
      const onEngineClose = () => fail('socket closed');
      probe.once('open', () => {
        probe.send([{ type: 'ping', data: 'probe' }]); // client -> server on the new WebSocket: 2probe
        probe.once('packet', (packet) => {
          if (failed) return;
          if (packet.type !== 'pong' || packet.data !== 'probe') return fail('unexpected ' + packet.type);
          // server -> client: 3probe. The WebSocket works. Stop sending (upgrading
          // holds writes in writeBuffer) and wait for polling to go quiet.
          this.upgrading = true;
          this.emit('upgrading', probe);
          this.transport.pause(() => {
            if (failed || this.readyState === 'closed') return;
            cleanup();
            this.transport.readyState = 'closed'; // the server dropped the polling side
            this.setTransport(probe);
            probe.send([{ type: 'upgrade' }]); // client -> server: 5. "Use this WebSocket from now on."
            this.emit('upgrade', probe);       // socket.io.engine.on('upgrade', (t) => t.name)
            this.upgrading = false;
            this.flush(); // whatever was held back during the switch
          });
        });
      });
      probe.once('error', () => fail('websocket error'));
      probe.once('close', () => fail('transport closed'));
      this.once('close', onEngineClose);
      probe.open();
    }
    sendPacket(type, data) {
      if (this.readyState === 'closing' || this.readyState === 'closed') return;
      this.writeBuffer.push({ type, data });
      this.flush();
    }
    write(data) { this.sendPacket('message', data); } // Engine.IO message (4) carrying Socket.IO data
    flush() {
      if (this.readyState !== 'closed' && this.transport.writable && !this.upgrading && this.writeBuffer.length) {
        const packets = this.writeBuffer;
        this.writeBuffer = [];
        this.transport.send(packets);
      }
    }
    onDrain() {
      if (this.writeBuffer.length) this.flush();
      else this.emit('drain');
    }
    // Client-side close: let the buffered packets (e.g. 41) go out first.
    close() {
      if (this.readyState !== 'opening' && this.readyState !== 'open') return this;
      this.readyState = 'closing';
      const close = () => this.onClose('forced close');
      const afterUpgrade = () => { this.off('upgrade', afterUpgrade).off('upgradeError', afterUpgrade); close(); };
      const whenIdle = () => {
        if (this.upgrading) this.on('upgrade', afterUpgrade).on('upgradeError', afterUpgrade);
        else close();
      };
      // (an open transport that is not writable has a POST in flight)
      const busy = this.transport.readyState === 'open' && !this.transport.writable;
      if (this.writeBuffer.length || busy) this.once('drain', whenIdle);
      else whenIdle();
      return this;
    }
    onError(message) {
      this.emit('error', new Error(message));
      this.onClose('transport error');
    }
    onClose(reason) {
      if (this.readyState === 'closed') return;
      clearTimeout(this.pingTimer);
      this.transport.off();
      this.transport.close();
      this.readyState = 'closed';
      this.id = null;
      this.emit('close', reason);
      this.writeBuffer = [];
    }
  }

  // ---------------------------------------------------------------------------
  // Socket.IO packets, inside Engine.IO messages:
  //   <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
  //   2["news","Hello Socket.IO"]          EVENT on "/"
  //   2/custom,["news","hi"]               EVENT on "/custom"
  //   212["hello",1]                       EVENT asking for an ack, id 12
  //   312["ok"]                            ACK for id 12
  //   51-["file",{"_placeholder":true,"num":0}]  + 1 binary message   BINARY_EVENT
  // ---------------------------------------------------------------------------
  const CONNECT = 0, DISCONNECT = 1, EVENT = 2, ACK = 3, CONNECT_ERROR = 4, BINARY_EVENT = 5, BINARY_ACK = 6;

  // Returns the text part, then the binary attachments (one Engine.IO message each).
  function encodeSioPacket(packet) {
    let type = packet.type;
    const buffers = [];
    let data = packet.data;
    if (type === EVENT || type === ACK) {
      data = deconstruct(data, buffers); // ArrayBuffers -> {"_placeholder":true,"num":0}
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
    if (isBinary(data)) {
      buffers.push(data);
      return { _placeholder: true, num: buffers.length - 1 };
    }
    if (Array.isArray(data)) return data.map((item) => deconstruct(item, buffers));
    if (data && typeof data === 'object' && !(data instanceof Date) && typeof data.toJSON !== 'function') {
      const copy = {};
      Object.keys(data).forEach((key) => { copy[key] = deconstruct(data[key], buffers); });
      return copy;
    }
    return data;
  }

  function reconstruct(data, buffers) {
    if (data && data._placeholder === true && typeof data.num === 'number') return buffers[data.num];
    if (Array.isArray(data)) return data.map((item) => reconstruct(item, buffers));
    if (data && typeof data === 'object') {
      Object.keys(data).forEach((key) => { data[key] = reconstruct(data[key], buffers); });
    }
    return data;
  }

  // '2/custom,17["news","hi"]' -> { type: 2, nsp: '/custom', id: 17, data: ['news', 'hi'] }
  function decodeSioString(text) {
    const packet = { type: Number(text[0]), nsp: '/' };
    if (!(packet.type >= CONNECT && packet.type <= BINARY_ACK)) throw new Error('unknown packet type ' + text[0]);
    let i = 1;
    if (packet.type === BINARY_EVENT || packet.type === BINARY_ACK) { // 51-...: one attachment follows
      const dash = text.indexOf('-', i);
      packet.attachments = Number(text.slice(i, dash));
      if (dash === -1 || isNaN(packet.attachments)) throw new Error('illegal attachments');
      i = dash + 1;
    }
    if (text[i] === '/') { // namespace, up to the comma
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      packet.nsp = text.slice(i, end);
      i = end + 1;
    }
    const id = /^\d+/.exec(text.slice(i)); // ack id
    if (id) { packet.id = Number(id[0]); i += id[0].length; }
    if (i < text.length) packet.data = JSON.parse(text.slice(i));
    return packet;
  }

  // ---------------------------------------------------------------------------
  // The Manager (socket.io): owns the Engine.IO connection and reconnects it.
  // Events: 'open', 'packet', 'error', 'close', 'ping', 'reconnect_attempt',
  // 'reconnect', 'reconnect_error', 'reconnect_failed'.
  // ---------------------------------------------------------------------------
  class Manager extends Emitter {
    constructor(url, opts) {
      super();
      this.uri = url;
      this.opts = opts;
      this.engine = null;
      this.subs = [];
      this.attempts = 0;        // reconnection attempts so far
      this._readyState = 'closed';
      this._reconnecting = false;
      this.skipReconnect = false;
      this.socket = null;       // the one Socket using this connection (no multiplexing)
    }
    open(callback) {
      if (this._readyState === 'open' || this._readyState === 'opening') return this;
      const engine = this.engine = new Engine(this.uri, this.opts);
      this._readyState = 'opening';
      this.skipReconnect = false;
      const failed = (err) => {
        this.cleanup();
        this._readyState = 'closed';
        this.emit('error', err); // the Socket turns this into 'connect_error'
        if (callback) callback(err);
        else if (!this._reconnecting && this.opts.reconnection && this.attempts === 0) this.reconnect();
      };
      this.subs.push(subscribe(engine, 'open', () => { this.onopen(); if (callback) callback(); }));
      this.subs.push(subscribe(engine, 'error', failed));
      if (this.opts.timeout !== false) { // give up on a handshake that hangs (default 20 s)
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
      this.subs.push(
        subscribe(engine, 'data', (data) => this.ondata(data)),
        subscribe(engine, 'ping', () => this.emit('ping')),
        subscribe(engine, 'error', (err) => this.emit('error', err)),
        subscribe(engine, 'close', (reason) => this.onclose(reason)));
    }
    // Engine.IO message data -> Socket.IO packet. A binary packet arrives as a
    // text part followed by its attachments; collect them before passing it on.
    ondata(data) {
      try {
        if (typeof data === 'string') {
          if (this.pending) throw new Error('got text while waiting for binary attachments');
          const packet = decodeSioString(data);
          if (packet.attachments) this.pending = { packet, buffers: [] };
          else this.emit('packet', packet);
        } else {
          const pending = this.pending;
          if (!pending) throw new Error('got binary data without a binary packet');
          pending.buffers.push(data);
          if (pending.buffers.length === pending.packet.attachments) {
            this.pending = null;
            pending.packet.data = reconstruct(pending.packet.data, pending.buffers);
            this.emit('packet', pending.packet);
          }
        }
      } catch (err) {
        const engine = this.engine;
        this.onclose('parse error');
        engine.close();
      }
    }
    packet(packet) {
      encodeSioPacket(packet).forEach((part) => this.engine.write(part));
    }
    cleanup() {
      this.subs.forEach((unsubscribe) => unsubscribe());
      this.subs = [];
      this.pending = null;
    }
    // Called when the only Socket disconnects on purpose: no reconnection.
    _close() {
      this.skipReconnect = true;
      this._reconnecting = false;
      clearTimeout(this.reconnectTimer);
      this.onclose('forced close');
      if (this.engine) this.engine.close();
    }
    onclose(reason) {
      this.cleanup();
      this.attempts = 0;
      this._readyState = 'closed';
      this.emit('close', reason); // the Socket emits 'disconnect' with this reason
      if (this.opts.reconnection && !this.skipReconnect) this.reconnect();
    }
    // Same backoff as the official client: 1 s, 2 s, 4 s, then 5 s, each
    // randomly made up to 50 % shorter or longer (then capped at 5 s again).
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
      if (this.attempts >= this.opts.reconnectionAttempts) {
        this.attempts = 0;
        this.emit('reconnect_failed');
        return;
      }
      this._reconnecting = true;
      this.reconnectTimer = setTimeout(() => {
        if (this.skipReconnect) return;
        this.emit('reconnect_attempt', this.attempts);
        this.open((err) => {
          this._reconnecting = false;
          if (err) {
            this.reconnect();
            this.emit('reconnect_error', err);
          } else {
            const attempts = this.attempts;
            this.attempts = 0;
            this.emit('reconnect', attempts);
          }
        });
      }, this.delay());
    }
  }

  // ---------------------------------------------------------------------------
  // The Socket: what io() returns. One namespace ('/' by default).
  // ---------------------------------------------------------------------------
  const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

  class Socket extends Emitter {
    constructor(manager, nsp, opts) {
      super();
      this.io = manager;       // socket.io.engine.transport.name works as with the official client
      this.nsp = nsp;
      this.auth = opts.auth;
      this.id = undefined;
      this.connected = false;
      this.ids = 0;            // next ack id
      this.acks = {};          // ack id -> callback
      this.sendBuffer = [];    // emit() before 'connect' is queued here
      this.receiveBuffer = [];
      this.subs = null;
      manager.socket = this;
      if (opts.autoConnect !== false) this.connect();
    }
    get disconnected() { return !this.connected; }
    get active() { return !!this.subs; } // false after a deliberate disconnect on either side
    connect() {
      if (this.connected) return this;
      if (!this.subs) {
        const io = this.io;
        this.subs = [
          subscribe(io, 'open', () => this.onopen()),
          subscribe(io, 'packet', (p) => this.onpacket(p)),
          subscribe(io, 'error', (err) => { if (!this.connected) this.emitLocal('connect_error', err); }),
          subscribe(io, 'close', (reason) => this.onclose(reason)),
        ];
      }
      if (!this.io._reconnecting) this.io.open();
      if (this.io._readyState === 'open') this.onopen();
      return this;
    }
    open() { return this.connect(); }
    onopen() {
      // 40  or  40{"token":"abc"} (auth)  or  40/custom,{"token":"abc"}
      const send = (data) => this.packet({ type: CONNECT, data });
      if (typeof this.auth === 'function') this.auth(send); // auth: (cb) => cb({ token })
      else send(this.auth);
    }
    onpacket(packet) {
      if (packet.nsp !== this.nsp) return;
      switch (packet.type) {
        case CONNECT: // 40{"sid":"xyz"}: we are in
          if (packet.data && packet.data.sid) this.onconnect(packet.data.sid);
          else this.emitLocal('connect_error', new Error('invalid CONNECT packet (is the server Socket.IO 2.x?)'));
          break;
        case EVENT: case BINARY_EVENT: // 42["news","Hello Socket.IO"]
          this.onevent(packet);
          break;
        case ACK: case BINARY_ACK: // 43<id>[...]
          this.onack(packet);
          break;
        case DISCONNECT: // 41: the server called socket.disconnect()
          this.destroy();
          this.onclose('io server disconnect');
          break;
        case CONNECT_ERROR: { // 44{"message":"not authorized"}: refused by a middleware; no retry
          this.destroy();
          const err = new Error(packet.data.message);
          err.data = packet.data.data;
          this.emitLocal('connect_error', err);
          break;
        }
      }
    }
    onconnect(id) {
      this.id = id;
      this.connected = true;
      this.receiveBuffer.forEach((args) => this.emitLocal.apply(this, args));
      this.receiveBuffer = [];
      this.sendBuffer.forEach((packet) => this.packet(packet));
      this.sendBuffer = [];
      this.emitLocal('connect');
    }
    onevent(packet) {
      const args = packet.data || [];
      // 21["question",21]: the server wants an answer; the handler gets a callback as its last argument
      if (packet.id !== undefined) args.push(this.ack(packet.id));
      if (this.connected) this.emitLocal.apply(this, args);
      else this.receiveBuffer.push(args);
    }
    ack(id) {
      let sent = false;
      return (...args) => {
        if (sent) return; // answer once
        sent = true;
        this.packet({ type: ACK, id, data: args }); // 31[42]: ACK for id 1
      };
    }
    onack(packet) {
      const callback = this.acks[packet.id];
      if (typeof callback !== 'function') return;
      delete this.acks[packet.id];
      callback.apply(this, packet.data || []);
    }
    // socket.emit('reply', 'Hello Node.JS')        ->  42["reply","Hello Node.JS"]
    // socket.emit('echo', 1, (answer) => {...})    ->  420["echo",1]   (ack id 0; answer comes as 430[...])
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
    packet(packet) {
      packet.nsp = this.nsp;
      this.io.packet(packet);
    }
    onclose(reason) {
      this.connected = false;
      this.id = undefined;
      this.emitLocal('disconnect', reason);
    }
    destroy() { // stop listening to the Manager and close the connection
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

  // ---------------------------------------------------------------------------
  // io(url, opts) / io.connect(url, opts)
  // ---------------------------------------------------------------------------
  function lookup(uri, opts) {
    if (typeof uri === 'object') { opts = uri; uri = undefined; }
    opts = Object.assign({
      path: '/socket.io',
      transports: ['polling', 'websocket'],
      upgrade: true,
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 20000,
      autoConnect: true,
      query: {},
    }, opts);
    // 'http://localhost:8005' -> namespace '/'; 'http://localhost:8005/custom' -> '/custom'
    const url = new URL(uri || location.origin, location.href);
    const nsp = url.pathname.replace(/\/$/, '') || '/';
    const query = Object.assign({}, opts.query);
    url.searchParams.forEach((value, key) => { query[key] = value; });
    opts.query = query;
    return new Socket(new Manager(url, opts), nsp, opts);
  }

  lookup.connect = lookup;
  lookup.protocol = 5; // Socket.IO protocol revision
  lookup.Manager = Manager;
  lookup.Socket = Socket;
  global.io = lookup;
})(typeof self !== 'undefined' ? self : this);
