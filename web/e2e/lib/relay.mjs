// Userspace relays that stand between a browser and the server so that a
// test can cut a participant's network path and restore it: a TCP relay
// (pages and signaling WebSockets) and a UDP relay (ICE, DTLS, media).

import dgram from 'node:dgram';
import net from 'node:net';

/**
 * TcpRelay forwards 127.0.0.1:<port> to target; cut() drops every
 * connection and refuses new ones until restore(). With noV1 it answers a
 * /rtc/v1 WebSocket upgrade with 404, as a server without it does (the
 * SDK's /rtc/v1/validate fetch may ride a kept-alive connection: route it
 * in the page).
 */
export class TcpRelay {
  static async start(targetPort, { targetHost = '127.0.0.1', noV1 = false } = {}) {
    const r = new TcpRelay();
    r.cutOff = false;
    r.sockets = new Set();
    r.server = net.createServer((client) => {
      if (r.cutOff) {
        client.destroy();
        return;
      }
      client.on('error', () => {});
      client.once('data', (first) => {
        if (noV1 && /^GET \/rtc\/v1\?/.test(first.toString('latin1', 0, 64))) {
          client.end('HTTP/1.1 404 Not Found\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found');
          return;
        }
        const upstream = net.connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          r.sockets.add(s);
          s.on('close', () => r.sockets.delete(s));
          s.on('error', () => {});
        }
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
    });
    await new Promise((res) => r.server.listen(0, '127.0.0.1', res));
    r.port = r.server.address().port;
    return r;
  }
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  cut() {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
  restore() {
    this.cutOff = false;
  }
  async close() {
    this.cut();
    await new Promise((res) => this.server.close(res));
  }
}

/**
 * UdpRelay listens on listenHost:port and forwards each client address's
 * datagrams to target from a socket of its own (a symmetric NAT).
 * cut(pred) drops, both ways, the datagrams of the clients pred selects.
 */
export class UdpRelay {
  static async start(listenHost, port, targetHost, targetPort) {
    const r = new UdpRelay();
    r.flows = new Map(); // "addr:port" -> upstream socket
    r.links = new Map(); // "addr:port" -> { down, up } Shapers of a shaped client
    r.dropped = 0;
    r.isCut = () => false;
    r.shapeFor = () => null;
    r.front = dgram.createSocket('udp4');
    r.front.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      if (r.isCut(key)) {
        r.dropped++;
        return;
      }
      let up = r.flows.get(key);
      if (!up) {
        up = dgram.createSocket('udp4');
        up.bind(0, '127.0.0.1');
        const toClient = (b) => r.front.send(b, rinfo.port, rinfo.address);
        const toServer = (b) => up.send(b, targetPort, targetHost);
        const shape = r.shapeFor(key);
        if (shape) {
          const link = { down: new Shaper(shape, toClient), up: new Shaper(shape, toServer) };
          r.links.set(key, link);
          up.forward = (b) => link.up.push(b);
          up.backward = (b) => link.down.push(b);
        } else {
          up.forward = toServer;
          up.backward = toClient;
        }
        up.on('message', (back) => {
          if (r.isCut(key)) {
            r.dropped++;
            return;
          }
          up.backward(back);
        });
        up.on('error', () => {});
        r.flows.set(key, up);
      }
      up.forward(msg);
    });
    await new Promise((res, rej) => {
      r.front.once('error', rej);
      r.front.bind(port, listenHost, res);
    });
    r.port = r.front.address().port;
    return r;
  }
  /**
   * shape(pred, params) puts the clients pred selects, from their first
   * datagram on, behind a Shaper with params in each direction.
   */
  shape(pred, params) {
    this.shapeFor = (key) => (pred(key) ? params : null);
  }
  /** clients lists the client addresses seen so far. */
  clients() {
    return [...this.flows.keys()];
  }
  cut(pred) {
    this.isCut = pred;
  }
  restore() {
    this.isCut = () => false;
  }
  close() {
    for (const l of this.links.values()) {
      l.down.close();
      l.up.close();
    }
    for (const s of this.flows.values()) s.close();
    this.front.close();
  }
}

/**
 * Shaper is one direction of a constrained link: random loss, then a
 * drop-tail queue bounded in bytes (queueMs at the link rate) drained by a
 * token bucket at kbps, then a fixed propagation delay. It records how the
 * queue behaved: the longest queue seen and each packet's time in it.
 */
export class Shaper {
  constructor({ kbps, lossPct = 0, delayMs = 0, queueMs = 1000 }, deliver) {
    this.rate = (kbps * 1000) / 8 / 1000; // bytes per ms
    this.lossPct = lossPct;
    this.delayMs = delayMs;
    this.limit = Math.round(this.rate * queueMs);
    this.deliver = deliver;
    this.burst = 3000; // bucket depth, bytes: two full packets
    this.tokens = this.burst;
    this.last = performance.now();
    this.queue = [];
    this.queued = 0;
    this.timer = null;
    this.closed = false;
    this.stats = { packets: 0, bytes: 0, lost: 0, tailDropped: 0, maxQueuedBytes: 0 };
    this.waits = []; // [departure time, ms spent queued]
  }
  push(buf) {
    if (this.closed) return;
    this.stats.packets++;
    if (Math.random() * 100 < this.lossPct) {
      this.stats.lost++;
      return;
    }
    if (this.queued + buf.length > this.limit) {
      this.stats.tailDropped++;
      return;
    }
    this.queue.push({ buf, at: performance.now() });
    this.queued += buf.length;
    this.stats.maxQueuedBytes = Math.max(this.stats.maxQueuedBytes, this.queued);
    this.pump();
  }
  pump() {
    if (this.timer || this.closed) return;
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate);
    this.last = now;
    while (this.queue.length > 0 && this.tokens >= this.queue[0].buf.length) {
      const { buf, at } = this.queue.shift();
      this.queued -= buf.length;
      this.tokens -= buf.length;
      this.stats.bytes += buf.length;
      this.waits.push([now, now - at]);
      if (this.waits.length > 100_000) this.waits.splice(0, 50_000);
      setTimeout(() => this.closed || this.deliver(buf), this.delayMs);
    }
    if (this.queue.length > 0) {
      const wait = Math.max(1, (this.queue[0].buf.length - this.tokens) / this.rate);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
    }
  }
  /** queueDelay summarises the time packets that left since `since` (performance.now()) spent queued. */
  queueDelay(since = 0) {
    const w = this.waits.filter(([t]) => t >= since).map(([, d]) => d).sort((a, b) => a - b);
    if (w.length === 0) return { packets: 0, p50: 0, p95: 0, max: 0 };
    const at = (q) => w[Math.min(w.length - 1, Math.floor(q * w.length))];
    return { packets: w.length, p50: Math.round(at(0.5)), p95: Math.round(at(0.95)), max: Math.round(w[w.length - 1]) };
  }
  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

/** freeUdpPort finds a UDP port free on host. */
export async function freeUdpPort(host) {
  const s = dgram.createSocket('udp4');
  await new Promise((res) => s.bind(0, host, res));
  const { port } = s.address();
  await new Promise((res) => s.close(res));
  return port;
}

/**
 * An init script that keeps the page's own ICE candidates from the server:
 * every icecandidate event reads as the end of gathering, so that the SDK
 * trickles nothing and the only path the server learns of is the one its
 * checks arrive by (the relay). The event's prototype is patched, not the
 * PeerConnection's handlers, which the SDK's WebRTC shims wrap.
 */
export function hideLocalCandidates() {
  Object.defineProperty(window.RTCPeerConnectionIceEvent.prototype, 'candidate', { get: () => null, configurable: true });
  // A renegotiation's description carries the candidates gathered so far.
  const P = window.RTCPeerConnection.prototype;
  for (const m of ['createOffer', 'createAnswer']) {
    const orig = P[m];
    P[m] = async function (...args) {
      const d = await orig.apply(this, args);
      return { type: d.type, sdp: d.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:')).join('\r\n') };
    };
  }
}

/**
 * An init script that keeps the page from reaching the server but at ip:
 * remote candidates elsewhere (trickled, or in a description) are dropped,
 * so that media cannot bypass a relay listening there.
 */
export function onlyRemoteAddress(ip) {
  const P = window.RTCPeerConnection.prototype;
  const keep = (line) => !/^a=candidate:/.test(line) || line.split(' ')[4] === ip;
  const addIce = P.addIceCandidate;
  P.addIceCandidate = function (c, ...rest) {
    if (c && c.candidate && c.candidate.split(' ')[4] !== ip) return Promise.resolve();
    return addIce.call(this, c, ...rest);
  };
  const setRemote = P.setRemoteDescription;
  P.setRemoteDescription = function (d, ...rest) {
    if (d && d.sdp) d = { type: d.type, sdp: d.sdp.split('\r\n').filter(keep).join('\r\n') };
    return setRemote.call(this, d, ...rest);
  };
}
