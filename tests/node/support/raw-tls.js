// Raw TLS connections to an atrest server, for the HTTP robustness tests
// (http.test.js): write arbitrary bytes, watch what comes back and when the
// server closes the connection. The CA comes from NODE_EXTRA_CA_CERTS, as
// for every other client test.
import net from 'node:net';
import {performance} from 'node:perf_hooks';
import tls from 'node:tls';

export class RawConn {
  // Connects to 127.0.0.1:`port` and completes the TLS handshake, verifying
  // the certificate for `servername`.
  static open(port, {servername = 'localhost', timeoutMs = 10000} = {}) {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({host: '127.0.0.1', port, servername});
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('TLS handshake timed out'));
      }, timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new RawConn(socket));
      });
      const onError = (e) => { clearTimeout(timer); reject(e); };
      socket.once('error', onError);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.data = Buffer.alloc(0);
    this.error = null;
    this.closedAt = null;  // performance.now() when the socket closed.
    this.waiters = new Set();
    socket.on('data', (d) => {
      this.data = Buffer.concat([this.data, d]);
      this.notify();
    });
    socket.on('error', (e) => { this.error = e; });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.closedAt = performance.now();
        this.notify();
        resolve();
      });
    });
  }

  text() { return this.data.toString('latin1'); }

  notify() { for (const w of this.waiters) w(); }

  write(chunk) {
    return new Promise((resolve, reject) => {
      this.socket.write(chunk, (e) => (e ? reject(e) : resolve()));
    });
  }

  // Resolves with the received text once `pred(text)` holds; rejects when
  // the connection closes first or after `timeoutMs`.
  waitFor(pred, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const done = (fn, v) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn(v);
      };
      const check = () => {
        const t = this.text();
        if (pred(t)) return done(resolve, t);
        if (this.closedAt !== null) {
          done(reject, new Error(`connection closed; received ${
              JSON.stringify(t.slice(0, 300))}`));
        }
      };
      const timer = setTimeout(
          () => done(reject, new Error(`timed out; received ${
              JSON.stringify(this.text().slice(0, 300))}`)),
          timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  // True when the peer closed the connection within `timeoutMs`.
  async waitClosed(timeoutMs) {
    let timer;
    const timeout = new Promise((r) => { timer = setTimeout(r, timeoutMs); });
    await Promise.race([this.closed, timeout]);
    clearTimeout(timer);
    return this.closedAt !== null;
  }

  destroy() { this.socket.destroy(); }
}

// Splits `text` into the HTTP/1.1 responses it holds (bodies delimited by
// Content-Length; atrest sets it on every buffered response). Header names
// are lower-cased. A trailing incomplete response is returned with
// complete: false.
export function parseResponses(text) {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      out.push({complete: false, raw: rest});
      break;
    }
    const lines = rest.slice(0, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]);
    const headers = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(end + 4, end + 4 + length);
    const status = m ? Number(m[1]) : null;
    out.push({status, statusLine: lines[0], headers, body,
              complete: m !== null && body.length === length});
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

// Resolves with 'refused' when a TCP connection to 127.0.0.1:`port` is
// refused, 'accepted' when it connects (whatever happens next).
export function tcpProbe(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({host: '127.0.0.1', port});
    s.once('connect', () => { s.destroy(); resolve('accepted'); });
    s.once('error', (e) => {
      if (e.code === 'ECONNREFUSED') resolve('refused');
      else reject(e);
    });
  });
}
