// HTTP robustness of the one HTTPS port (src/http/server.h), against real
// atrest servers: many keep-alive connections, header and body limits,
// malformed requests, slow clients, graceful shutdown, 404/405. Only Node
// built-ins talk to the server here, so every byte on the wire is ours.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {readFileSync, statSync} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {after, before, describe, test} from 'node:test';
import {setTimeout as sleep} from 'node:timers/promises';

import {atrestBin, startServer} from './support/atrest.js';
import {RawConn, parseResponses, tcpProbe} from './support/raw-tls.js';

// One HTTPS request. `agent: false` (the default here) opens a connection
// of its own. Resolves with the status, headers, whole body and the socket
// used; rejects on a connection error before the response was complete.
function request(url, {agent = false, method = 'GET', headers = {}, body,
                       chunks, servername} = {}) {
  return new Promise((resolve, reject) => {
    let socket;
    const req = https.request(url, {agent, method, headers, servername},
                              (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        text: Buffer.concat(parts).toString(),
        complete: res.complete,
        socket,
        reused: req.reusedSocket,
      }));
    });
    req.on('socket', (s) => { socket = s; });
    // A response may come before the whole body was sent (413); errors
    // writing the rest after that are expected and ignored.
    req.on('error', reject);
    if (chunks) {
      for (const c of chunks) req.write(c);
      req.end();
    } else {
      req.end(body);
    }
  });
}

// The Azure error envelope: {"error": {"code": ..., "message": ...}}.
function assertAzureError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  const doc = JSON.parse(res.text);
  assert.deepEqual(Object.keys(doc), ['error']);
  assert.equal(doc.error.code, code);
  assert.equal(typeof doc.error.message, 'string');
  assert.ok(doc.error.message.length > 0);
  return doc;
}

async function assertHealthy(server) {
  const res = await request(`${server.origin()}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.text), {status: 'ok'});
}

// The OAuth 2.0 error envelope of the login surface:
// {"error": ..., "error_description": ...}.
function assertOAuthError(res, status, error = 'invalid_request') {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  const doc = JSON.parse(res.text);
  assert.equal(doc.error, error);
  assert.equal(typeof doc.error_description, 'string');
  assert.ok(doc.error_description.length > 0);
  return doc;
}

function metricsAuth(server) {
  return {authorization: `Bearer ${server.metricsToken()}`};
}

// atrest_tls_handshakes_total, read over a connection of its own (which
// counts itself).
async function handshakes(server) {
  const res = await request(`${server.origin()}/metrics`,
                            {headers: metricsAuth(server)});
  assert.equal(res.status, 200);
  const m = /^atrest_tls_handshakes_total (\d+)$/m.exec(res.text);
  assert.ok(m, 'atrest_tls_handshakes_total is exported');
  return Number(m[1]);
}

function tokenPath(server) {
  return `/${server.creds.tenantId}/oauth2/v2.0/token`;
}

function tokenForm(server) {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: server.creds.clientId,
    client_secret: server.creds.clientSecret,
    scope: `${server.origin('management')}/.default`,
  }).toString();
}

describe('one server under load and abuse', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  test('1,000 concurrent keep-alive connections, reused by a second wave',
       {timeout: 60000}, async () => {
    const N = 1000;
    const agent = new https.Agent({keepAlive: true, maxSockets: N,
                                   // The default (256) would close the rest
                                   // after the first wave.
                                   maxFreeSockets: N});
    const url = `${server.origin()}/healthz`;
    const wave = () => Promise.all(
        Array.from({length: N}, () => request(url, {agent})));
    try {
      const h0 = await handshakes(server);
      const first = await wave();
      const sockets = new Set(first.map((r) => r.socket));
      for (const r of first) {
        assert.equal(r.status, 200);
        assert.equal(r.text, '{"status":"ok"}');
      }
      assert.ok(sockets.size >= 900,
                `first wave used ${sockets.size} distinct connections`);
      const free = Object.values(agent.freeSockets).flat().length;
      assert.equal(free, sockets.size,
                   'every connection was kept open by the server');
      const h1 = await handshakes(server);
      assert.equal(h1 - h0, sockets.size + 1,
                   'one TLS handshake per connection (and the probe)');

      const second = await wave();
      for (const r of second) {
        assert.equal(r.status, 200);
        assert.equal(r.text, '{"status":"ok"}');
        assert.equal(r.reused, true, 'request went over a kept-alive socket');
        assert.ok(sockets.has(r.socket), 'socket is one of the first wave');
      }
      assert.ok(new Set(second.map((r) => r.socket)).size >= 900);
      assert.equal(await handshakes(server) - h1, 1,
                   'the second wave made no new TLS handshakes');
    } finally {
      agent.destroy();
    }
  });

  test('a 64 KiB header gets 431 and the server carries on', async () => {
    const res = await request(`${server.origin()}/healthz`,
                              {headers: {'x-big': 'a'.repeat(64 * 1024)}});
    assertAzureError(res, 431, 'RequestHeaderFieldsTooLarge');
    assert.equal(res.headers.connection, 'close');
    await assertHealthy(server);
  });

  test('headers over the route\'s own limit get 431', async () => {
    // 12 KiB: under the parser's limit (the largest route's, 32 KiB) but
    // over /healthz's 8 KiB.
    const res = await request(`${server.origin()}/healthz`,
                              {headers: {'x-big': 'a'.repeat(12 * 1024)}});
    const doc = assertAzureError(res, 431, 'RequestHeaderFieldsTooLarge');
    assert.match(doc.error.message, /8192/);
    await assertHealthy(server);
  });

  test('a 2 MiB body to the token endpoint gets 413 in OAuth\'s shape',
       async () => {
    const url = `${server.origin('login')}${tokenPath(server)}`;
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    const res = await request(url, {
      method: 'POST', body,
      headers: {'content-type': 'application/x-www-form-urlencoded'}});
    const doc = assertOAuthError(res, 413);
    assert.match(doc.error_description, /RequestEntityTooLarge.*65536/);
    await assertHealthy(server);
  });

  test('a 2 MiB chunked body (no Content-Length) gets 413', async () => {
    const url = `${server.origin('login')}${tokenPath(server)}`;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const res = await request(url, {
      method: 'POST', chunks: Array(32).fill(chunk),
      headers: {'content-type': 'application/x-www-form-urlencoded',
                'transfer-encoding': 'chunked'}});
    assertOAuthError(res, 413);
    await assertHealthy(server);
  });

  describe('malformed requests get 400 and cost only their connection', () => {
    const token = () => tokenPath(server);
    const cases = [
      ['a garbage request line', () => 'GARBAGE\r\n\r\n'],
      ['a header line without a colon',
       () => 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n'],
      ['a space in a header name',
       () => 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n'],
      ['a non-numeric Content-Length',
       () => `POST ${token()} HTTP/1.1\r\nHost: login.localhost\r\n` +
             'Content-Length: abc\r\n\r\n'],
      ['a negative Content-Length',
       () => `POST ${token()} HTTP/1.1\r\nHost: login.localhost\r\n` +
             'Content-Length: -5\r\n\r\n'],
      ['two different Content-Lengths',
       () => `POST ${token()} HTTP/1.1\r\nHost: login.localhost\r\n` +
             'Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef'],
      ['a bad protocol version',
       () => 'GET /healthz HTTQ/1.1\r\nHost: localhost\r\n\r\n'],
      ['control bytes for a method', () => '\x00\x01\x02 / HTTP/1.1\r\n\r\n'],
      ['a missing Host header', () => 'GET /healthz HTTP/1.1\r\n\r\n'],
      ['a malformed Host header',
       () => 'GET /healthz HTTP/1.1\r\nHost: local host\r\n\r\n'],
      ['a bad chunk size',
       () => `POST ${token()} HTTP/1.1\r\nHost: login.localhost\r\n` +
             'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ];
    for (const [name, make] of cases) {
      test(name, async () => {
        const conn = await RawConn.open(server.port);
        try {
          await conn.write(make());
          assert.ok(await conn.waitClosed(5000),
                    'the server closes the connection');
          const [res, extra] = parseResponses(conn.text());
          assert.ok(res?.complete, `a whole response: ${conn.text()}`);
          assert.equal(res.status, 400, res.statusLine);
          // In the shape of the surface the Host names, when it names one.
          const doc = JSON.parse(res.body);
          if (typeof doc.error === 'string') {
            assert.equal(doc.error, 'invalid_request');
            assert.match(doc.error_description, /^BadRequest: /);
          } else {
            assert.equal(doc.error.code, 'BadRequest');
          }
          assert.equal(extra, undefined, 'nothing after the 400');
        } finally {
          conn.destroy();
        }
        await assertHealthy(server);
      });
    }

    test('garbage after a good request on the same connection', async () => {
      const conn = await RawConn.open(server.port);
      try {
        await conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n' +
                         'GARBAGE\r\n\r\n');
        assert.ok(await conn.waitClosed(5000));
        const [ok, bad] = parseResponses(conn.text());
        assert.equal(ok.status, 200);
        assert.equal(ok.body, '{"status":"ok"}');
        assert.equal(bad?.status, 400, conn.text());
      } finally {
        conn.destroy();
      }
    });

    test('a TLS client speaking plain HTTP is dropped', async () => {
      // Not TLS at all: the handshake fails and the socket closes.
      const closed = await new Promise((resolve) => {
        const s = net.connect({host: '127.0.0.1', port: server.port}, () => {
          s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
        });
        s.on('error', () => {});
        s.on('close', () => resolve(true));
        setTimeout(() => { s.destroy(); resolve(false); }, 5000).unref();
      });
      assert.equal(closed, true);
      await assertHealthy(server);
    });
  });

  test('an unknown host or path gets the Azure 404', async () => {
    let res = await request(`${server.origin()}/no-such-path`);
    assertAzureError(res, 404, 'NotFound');
    res = await request(`${server.origin('management')}/no/such/thing`);
    assertAzureError(res, 404, 'NotFound');
    // A host nothing is served on, over the localhost certificate.
    res = await request(`${server.origin()}/healthz`, {
      servername: 'localhost',
      headers: {host: `nosuch.example:${server.port}`}});
    assertAzureError(res, 404, 'NotFound');
  });

  test('a 404 keeps the connection; one with an unread body closes it',
       async () => {
    const agent = new https.Agent({keepAlive: true, maxSockets: 1});
    try {
      const a = await request(`${server.origin()}/nope`, {agent});
      const b = await request(`${server.origin()}/nope`, {agent});
      assert.equal(a.status, 404);
      assert.equal(b.status, 404);
      assert.equal(b.reused, true);
      assert.equal(b.socket, a.socket);
      const c = await request(`${server.origin()}/nope`, {
        agent, method: 'POST', body: 'x'.repeat(100)});
      assert.equal(c.status, 404);
      assert.equal(c.headers.connection, 'close');
    } finally {
      agent.destroy();
    }
  });

  test('a wrong method gets 405 with Allow', async () => {
    let res = await request(`${server.origin('login')}${tokenPath(server)}`);
    const doc = assertOAuthError(res, 405);
    assert.equal(res.headers.allow, 'POST');
    assert.match(doc.error_description, /^MethodNotAllowed: .*POST/);
    res = await request(`${server.origin()}/healthz`, {method: 'DELETE'});
    assertAzureError(res, 405, 'MethodNotAllowed');
    assert.equal(res.headers.allow, 'GET');
  });
});

// Whether this build has a setting for ServerOptions::header_timeout.
function hasHeaderTimeoutFlag() {
  try {
    return execFileSync(atrestBin, ['serve', '--help'], {encoding: 'utf8'})
        .includes('--limits-header-timeout-seconds');
  } catch {
    return false;
  }
}

// The admission rules of src/http/query.h and session.cc, against one live
// server: framing that could smuggle a request, Host values that could
// redirect identifiers, bytes that are not UTF-8, and the error shape and
// request ids of each surface.
describe('the request head at the edge', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  // Writes `raw` on a fresh connection (SNI `servername`); resolves with
  // the parsed responses once the server closed the connection.
  async function rawExchange(raw, servername = 'localhost') {
    const conn = await RawConn.open(server.port, {servername});
    try {
      await conn.write(raw);
      assert.ok(await conn.waitClosed(5000), 'the server closes the connection');
      return parseResponses(conn.text());
    } finally {
      conn.destroy();
    }
  }

  const smuggled = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';
  for (const te of ['xchunked', 'identity', 'gzip', 'chunked, identity',
                    'gzip, chunked', 'chunked, chunked']) {
    test(`Transfer-Encoding: ${te} is 400 and close; its body is not a ` +
         'request', async () => {
      const responses = await rawExchange(
          `POST /${server.creds.tenantId}/oauth2/v2.0/token HTTP/1.1\r\n` +
          `Host: login.localhost:${server.port}\r\n` +
          'Content-Type: application/x-www-form-urlencoded\r\n' +
          `Transfer-Encoding: ${te}\r\n\r\n${smuggled}`,
          'login.localhost');
      assert.equal(responses.length, 1, JSON.stringify(responses));
      assert.equal(responses[0].status, 400);
      const doc = JSON.parse(responses[0].body);
      assert.equal(doc.error, 'invalid_request');
      assert.match(doc.error_description, /Transfer-Encoding/);
    });
  }

  test('two Host headers are 400', async () => {
    const [res, extra] = await rawExchange(
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n' +
        '\r\n');
    assert.equal(res.status, 400);
    assert.match(JSON.parse(res.body).error.message, /more than one Host/);
    assert.equal(extra, undefined);
  });

  for (const bad of [`localhost:${'1'}@evil.example`, 'user@localhost',
                     'localhost:', 'localhost:8443x', 'localhost:99999']) {
    test(`Host: ${bad} is 400`, async () => {
      const [res] = await rawExchange(
          `GET /healthz HTTP/1.1\r\nHost: ${bad}\r\n\r\n`);
      assert.equal(res.status, 400, res.statusLine);
      assert.equal(JSON.parse(res.body).error.code, 'BadRequest');
    });
  }

  // One request per surface whose decoded path, query or form is not UTF-8:
  // refused with 400 in that surface's own shape before any handler (and
  // before authentication: none of them carries a credential).
  const utf8Cases = [
    ['ARM, a query value', 'management',
     '/subscriptions?api-version=%FF', 'azure'],
    ['Key Vault, a path segment', 'kv1.vault', '/keys/%FF?api-version=7.4',
     'azure'],
    ['the login surface, a path segment', 'login',
     '/%FF/discovery/v2.0/keys', 'oauth'],
    ['Azure OpenAI, a path segment', 'acct.openai',
     '/openai/files/%FF?api-version=2024-10-21', 'openai'],
    ['Azure OpenAI, a query name', 'acct.openai',
     '/openai/files?api-version=2024-10-21&%C0%AF=1', 'openai'],
  ];
  for (const [name, sub, target, shape] of utf8Cases) {
    test(`not UTF-8 (${name}) is 400 in the surface's shape`, async () => {
      const res = await request(`${server.origin(sub)}${target}`);
      assert.equal(res.status, 400, res.text);
      const doc = JSON.parse(res.text);
      if (shape === 'oauth') {
        assert.equal(doc.error, 'invalid_request');
        assert.match(doc.error_description, /UTF-8/);
      } else {
        assert.equal(doc.error.code, 'BadRequest');
        assert.match(doc.error.message, /UTF-8/);
        if (shape === 'openai') {
          assert.equal(doc.error.type, 'invalid_request_error');
          assert.equal(doc.error.param, null);
        } else {
          assert.deepEqual(Object.keys(doc.error), ['code', 'message']);
        }
      }
    });
  }

  test('a form field that is not UTF-8 is 400 invalid_request', async () => {
    const res = await request(
        `${server.origin('login')}${tokenPath(server)}`, {
          method: 'POST', body: 'grant_type=%FF&client_id=x',
          headers: {'content-type': 'application/x-www-form-urlencoded'}});
    const doc = assertOAuthError(res, 400);
    assert.match(doc.error_description, /UTF-8/);
  });

  test('every surface sends its request ids, one per request, as in the ' +
       'access log', async () => {
    const uuid =
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const correlation = randomUUID();
    const clientId = randomUUID();
    const cases = [
      [server.origin(), '/healthz', {}, ['x-ms-request-id']],
      [server.origin('management'), '/subscriptions?api-version=2022-12-01',
       {'x-ms-correlation-request-id': correlation},
       ['x-ms-request-id', 'x-ms-correlation-request-id']],
      [server.origin('kv1.vault'), '/keys?api-version=7.4', {},
       ['x-ms-request-id']],
      [server.origin('login'),
       `/${server.creds.tenantId}/discovery/v2.0/keys`,
       {'client-request-id': clientId}, ['x-ms-request-id']],
      [server.origin('acct.openai'), '/openai/files?api-version=2024-10-21',
       {}, ['apim-request-id', 'x-ms-request-id', 'x-request-id']],
    ];
    const ids = new Set();
    for (const [origin, target, headers, names] of cases) {
      const res = await request(`${origin}${target}`, {headers});
      const id = res.headers['x-ms-request-id'];
      assert.match(id ?? '', uuid, `${origin}${target}`);
      for (const n of names) {
        if (n === 'x-ms-correlation-request-id') continue;
        assert.equal(res.headers[n], id, `${n} of ${origin}`);
      }
      if (headers['x-ms-correlation-request-id']) {
        // ARM echoes the client's correlation id.
        assert.equal(res.headers['x-ms-correlation-request-id'], correlation);
      }
      if (headers['client-request-id']) {
        assert.equal(res.headers['client-request-id'], clientId);
      }
      ids.add(id);
    }
    assert.equal(ids.size, cases.length, 'a fresh id per request');
    // The access log carries the same ids.
    await sleep(200);
    const log = readFileSync(
        path.join(server.dataDir, `access-${server.port}.log`), 'utf8');
    for (const id of ids) {
      assert.ok(log.includes(`"request_id":"${id}"`), id);
    }
  });

  test('the system surface answers on the address atrest prints',
       async () => {
    assert.match(server.output(),
                 new RegExp(`serving on https://127\\.0\\.0\\.1:${server.port}`));
    const res = await request(`https://127.0.0.1:${server.port}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), {status: 'ok'});
  });
});

describe('/metrics', () => {
  test('needs the token made at the first start; public only when ' +
       'configured', {timeout: 30000}, async () => {
    const server = await startServer();
    try {
      const file = path.join(server.dataDir, 'metrics-token');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.match(server.output(),
                   new RegExp(`metrics token: ${file} \\(created now\\)`));
      let res = await request(`${server.origin()}/metrics`);
      assertAzureError(res, 401, 'Unauthorized');
      assert.match(res.headers['www-authenticate'], /^Bearer /);
      assert.doesNotMatch(res.text, /atrest_http_requests_total/);
      res = await request(`${server.origin()}/metrics`,
                          {headers: {authorization: 'Bearer wrong'}});
      assert.equal(res.status, 401);
      res = await request(`${server.origin()}/metrics`, {headers: {
        authorization: `Bearer ${server.metricsToken()}x`}});
      assert.equal(res.status, 401);
      res = await request(`${server.origin()}/metrics`,
                          {headers: metricsAuth(server)});
      assert.equal(res.status, 200);
      assert.match(res.text, /^atrest_http_requests_total\{/m);
      // /healthz stays open.
      assert.equal((await request(`${server.origin()}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
    const open = await startServer({extraArgs: ['--server-metrics-public',
                                                'true']});
    try {
      const res = await request(`${open.origin()}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.text, /atrest_tls_handshakes_total/);
      assert.match(open.output(), /metrics token: none, \/metrics is public/);
    } finally {
      await open.stop();
    }
  });
});

describe('slow clients', () => {
  // Header and body phases 2 s, keep-alive idle 4 s: each cut-off below
  // must come from the timer of its own phase.
  const HEADER_MS = 2000;
  const BODY_MS = 2000;
  const IDLE_MS = 4000;
  const headerFlag = hasHeaderTimeoutFlag();
  let server;
  before(async () => {
    server = await startServer({extraArgs: [
      '--limits-request-timeout-seconds', String(BODY_MS / 1000),
      '--limits-idle-timeout-seconds', String(IDLE_MS / 1000),
      ...(headerFlag ?
          ['--limits-header-timeout-seconds', String(HEADER_MS / 1000)] : []),
    ]});
  });
  after(async () => { await server.stop(); });

  // Asserts that the server closed `conn` about `limitMs` after `since`:
  // not earlier (so it was the timeout) and well before any other phase's
  // timer would have fired.
  async function assertCutOff(conn, since, limitMs) {
    assert.ok(await conn.waitClosed(limitMs + 4000),
              'the server closed the connection');
    const elapsed = Math.round(conn.closedAt - since);
    assert.ok(elapsed >= limitMs - 300, `closed after ${elapsed} ms`);
    assert.ok(elapsed <= limitMs + 1500, `closed after ${elapsed} ms`);
  }

  // Sends `byte` every 200 ms until the connection closes.
  function trickle(conn, byte = 'a') {
    const timer = setInterval(() => {
      if (conn.closedAt === null) conn.socket.write(byte);
    }, 200);
    conn.closed.then(() => clearInterval(timer));
    return () => clearInterval(timer);
  }

  const noHeaderSetting = headerFlag ? false :
      'no setting maps to ServerOptions::header_timeout in this build ' +
      '(serve.cc leaves it at 30 s)';

  test('a partial request line is cut off at the header timeout',
       {skip: noHeaderSetting}, async () => {
    const conn = await RawConn.open(server.port);
    try {
      const since = performance.now();
      await conn.write('GET /heal');
      await assertCutOff(conn, since, HEADER_MS);
      assert.equal(conn.text(), '');
    } finally {
      conn.destroy();
    }
    await assertHealthy(server);
  });

  test('a connection silent after the handshake is cut off at the header ' +
       'timeout', {skip: noHeaderSetting}, async () => {
    // session.cc waits for the first request with header_timeout, not
    // idle_timeout (a silent new connection is a slowloris, not a
    // kept-alive client).
    const conn = await RawConn.open(server.port);
    try {
      await assertCutOff(conn, performance.now(), HEADER_MS);
      assert.equal(conn.text(), '');
    } finally {
      conn.destroy();
    }
  });

  test('trickled header bytes do not extend the header timeout',
       {skip: noHeaderSetting}, async () => {
    const conn = await RawConn.open(server.port);
    const stop = trickle(conn);
    try {
      const since = performance.now();
      await conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      await assertCutOff(conn, since, HEADER_MS);
      assert.equal(conn.text(), '');
    } finally {
      stop();
      conn.destroy();
    }
  });

  test('a partial body is cut off at the request timeout', async () => {
    const conn = await RawConn.open(server.port);
    try {
      const since = performance.now();
      await conn.write(`POST ${tokenPath(server)} HTTP/1.1\r\n` +
                       'Host: login.localhost\r\n' +
                       'Content-Type: application/x-www-form-urlencoded\r\n' +
                       'Content-Length: 100\r\n\r\ngrant_type');
      await assertCutOff(conn, since, BODY_MS);
      // Nothing, or at most a 408, before the close.
      assert.match(conn.text(), /^(|HTTP\/1\.1 408 [^]*)$/);
    } finally {
      conn.destroy();
    }
    await assertHealthy(server);
  });

  test('a trickled body does not extend the request timeout', async () => {
    const conn = await RawConn.open(server.port);
    let stop = () => {};
    try {
      const since = performance.now();
      await conn.write(`POST ${tokenPath(server)} HTTP/1.1\r\n` +
                       'Host: login.localhost\r\n' +
                       'Content-Type: application/x-www-form-urlencoded\r\n' +
                       'Content-Length: 1000\r\n\r\n');
      stop = trickle(conn);
      await assertCutOff(conn, since, BODY_MS);
      assert.match(conn.text(), /^(|HTTP\/1\.1 408 [^]*)$/);
    } finally {
      stop();
      conn.destroy();
    }
  });

  test('an idle keep-alive connection is closed at the idle timeout',
       async () => {
    const conn = await RawConn.open(server.port);
    try {
      await conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await conn.waitFor((t) => parseResponses(t)[0]?.complete);
      const since = performance.now();
      const [res] = parseResponses(conn.text());
      assert.equal(res.status, 200);
      assert.notEqual(res.headers.connection, 'close');
      await assertCutOff(conn, since, IDLE_MS);
    } finally {
      conn.destroy();
    }
  });
});

describe('connection cap', () => {
  test('connections over server.max_connections are closed before TLS',
       {timeout: 20000}, async () => {
    const server = await startServer(
        {extraArgs: ['--server-max-connections', '4']});
    const held = [];
    try {
      for (let i = 0; i < 4; ++i) held.push(await RawConn.open(server.port));
      await assert.rejects(
          RawConn.open(server.port, {timeoutMs: 5000}),
          (e) => e.code === 'ECONNRESET' && !/timed out/.test(e.message));
      // The refusal is counted (read over a connection already held: a new
      // one would be over the cap too).
      await held[0].write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n' +
                          `Authorization: Bearer ${server.metricsToken()}\r\n` +
                          '\r\n');
      const [metrics] = parseResponses(await held[0].waitFor(
          (t) => parseResponses(t)[0]?.complete));
      assert.equal(metrics.status, 200);
      assert.match(metrics.body,
                   /^atrest_http_connections_rejected_total 1$/m);
      // A freed slot is served again (once the server has let go of it).
      held.pop().destroy();
      let res;
      const deadline = performance.now() + 5000;
      do {
        res = await request(`${server.origin()}/healthz`).catch((e) => e);
      } while (res.status !== 200 && performance.now() < deadline &&
               await sleep(100) === undefined);
      assert.equal(res.status, 200, String(res));
    } finally {
      for (const c of held) c.destroy();
      await server.stop();
    }
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM: in-flight requests finish, new connections are refused, ' +
       'exit code 0', {timeout: 30000}, async () => {
    const server = await startServer();
    const N = 50;
    const form = tokenForm(server);
    let conns = [];
    try {
      // Each request is in flight for certain: the server has routed its
      // head (it answered 100 Continue) and waits for the body.
      conns = await Promise.all(Array.from(
          {length: N},
          () => RawConn.open(server.port, {servername: 'login.localhost'})));
      await Promise.all(conns.map((c) => c.write(
          `POST ${tokenPath(server)} HTTP/1.1\r\n` +
          `Host: login.localhost:${server.port}\r\n` +
          'Content-Type: application/x-www-form-urlencoded\r\n' +
          `Content-Length: ${Buffer.byteLength(form)}\r\n` +
          'Expect: 100-continue\r\n\r\n')));
      await Promise.all(conns.map((c) => c.waitFor(
          (t) => t.startsWith('HTTP/1.1 100 Continue\r\n\r\n'))));
      // And one idle keep-alive connection, which the stop closes at once.
      const idle = await RawConn.open(server.port);
      conns.push(idle);
      await idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await idle.waitFor((t) => parseResponses(t)[0]?.complete);

      let exited = false;
      let exitedAt;
      const exit = server.stop('SIGTERM').then((code) => {
        exited = true;
        exitedAt = performance.now();
        return code;
      });
      assert.ok(await idle.waitClosed(3000),
                'the idle connection is closed by the stop');
      let probe;
      const deadline = performance.now() + 3000;
      while ((probe = await tcpProbe(server.port)) !== 'refused' &&
             performance.now() < deadline) {
        await sleep(50);
      }
      assert.equal(probe, 'refused', 'new connections are refused');
      assert.equal(exited, false, 'the server waits for in-flight requests');

      // Each grant verifies the client secret with PBKDF2, so 50 of them
      // take seconds on a busy 2-core machine; all must still finish
      // within the server's 10 s grace.
      const inFlight = conns.slice(0, N);
      await Promise.all(inFlight.map((c) => c.write(form)));
      const closed =
          await Promise.all(inFlight.map((c) => c.waitClosed(12000)));
      const lastClosed = Math.max(...inFlight.map((c) => c.closedAt ?? 0));
      for (const [i, c] of inFlight.entries()) {
        assert.ok(closed[i], 'closed after the response');
        const [cont, res, extra] = parseResponses(c.text());
        assert.equal(cont.status, 100);
        assert.ok(res?.complete, `a whole response: ${c.text()}`);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.headers.connection, 'close');
        const doc = JSON.parse(res.body);
        assert.equal(doc.token_type, 'Bearer');
        assert.equal(doc.access_token.split('.').length, 3);
        assert.equal(extra, undefined);
      }
      assert.equal(await exit, 0);
      // Drained: it exits once its last connection is done, rather than
      // waiting out its 10 s grace.
      const lag = Math.round(exitedAt - lastClosed);
      assert.ok(lag < 2000, `exited ${lag} ms after the last response`);
      assert.match(server.output(), /atrest stopped \(signal 15\)/);
    } finally {
      for (const c of conns) c.destroy();
      await server.stop('SIGKILL');
    }
  });

  test('SIGTERM right after 50 requests are written: every response is ' +
       'a whole 200', {timeout: 30000}, async () => {
    const server = await startServer();
    const N = 50;
    const url = `${server.origin()}/healthz`;
    try {
      let written = 0;
      let allWritten;
      const writtenP = new Promise((r) => { allWritten = r; });
      const outcomes = Array.from({length: N}, () => new Promise((resolve) => {
        const req = https.request(url, {agent: false}, (res) => {
          const parts = [];
          res.on('data', (c) => parts.push(c));
          res.on('error', (error) => resolve({error, midResponse: true}));
          res.on('end', () => resolve({
            status: res.statusCode, complete: res.complete,
            text: Buffer.concat(parts).toString()}));
        });
        // Counted when written, or when it failed before that (so a
        // connection error cannot leave the test waiting).
        const wrote = () => { if (++written === N) allWritten(); };
        req.on('error', (error) => {
          if (!req.writableFinished) wrote();
          resolve({error});
        });
        req.on('finish', wrote);
        req.end();
      }));
      await writtenP;
      const exit = server.stop('SIGTERM');
      const results = await Promise.all(outcomes);
      assert.equal(await tcpProbe(server.port), 'refused');
      assert.equal(await exit, 0);
      let answered = 0;
      for (const r of results) {
        if (r.error) {
          // Dropped before any response byte: allowed, but never cut short.
          assert.ok(!r.midResponse, `response cut short: ${r.error}`);
          assert.match(`${r.error.code} ${r.error.message}`,
                       /ECONNRESET|ECONNREFUSED|EPIPE|socket hang up/);
          continue;
        }
        ++answered;
        assert.equal(r.status, 200);
        assert.equal(r.complete, true);
        assert.equal(r.text, '{"status":"ok"}');
      }
      assert.ok(answered > 0, 'some requests were answered');
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
