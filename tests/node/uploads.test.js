// File uploads under abuse (src/http/body_consumer.h, api/openai_api.cc):
// slow uploads never freeze other requests or tenants, concurrent uploads
// are limited per principal and per account (429 + Retry-After, through the
// npm `openai` client), and an upload slower than the minimum rate is cut
// off with nothing stored. Slow clients are raw TLS sockets
// (support/raw-tls.js), so every byte and pause is ours.
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import {existsSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {after, before, describe, test} from 'node:test';

import {AuthorizationManagementClient} from '@azure/arm-authorization';
import {getBearerTokenProvider} from '@azure/identity';
import {AzureOpenAI, toFile} from 'openai';

import {Arm, sleep} from './support/arm.js';
import {startServer} from './support/atrest.js';
import {RawConn, parseResponses} from './support/raw-tls.js';

const API_VERSION = '2024-10-21';
const OPENAI_USER_ROLE = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd';
const COGNITIVE_SCOPE = 'https://cognitiveservices.azure.com/.default';

function host(server, account) {
  return `${account}.openai.localhost:${server.port}`;
}

function azure(server, account, auth) {
  return new AzureOpenAI({
    endpoint: `${server.origin(`${account}.openai`)}/`,
    apiVersion: API_VERSION, maxRetries: 0, ...auth});
}

// An upload that declares `declared` bytes, sends the form's head and
// `burst` bytes of the file at once, then `piece` bytes every `everyMs`
// until stopped or cut off. `auth` is the header line that authenticates
// it.
async function slowUpload(server, account, auth,
                          {declared = 100 * 1024 * 1024, piece = 1024,
                           everyMs = 2000, burst = 0} = {}) {
  const conn = await RawConn.open(
      server.port, {servername: `${account}.openai.localhost`});
  await conn.write(
      `POST /openai/files?api-version=${API_VERSION} HTTP/1.1\r\n` +
      `Host: ${host(server, account)}\r\n${auth}\r\n` +
      'Content-Type: multipart/form-data; boundary=B\r\n' +
      `Content-Length: ${declared}\r\n\r\n` +
      '--B\r\ncontent-disposition: form-data; name="purpose"\r\n\r\n' +
      'assistants\r\n--B\r\ncontent-disposition: form-data; name="file"; ' +
      'filename="slow.bin"\r\n\r\n');
  if (burst > 0) await conn.write(Buffer.alloc(burst, 'b'));
  const timer = setInterval(() => {
    if (conn.closedAt === null) conn.socket.write(Buffer.alloc(piece, 's'));
  }, everyMs);
  conn.closed.then(() => clearInterval(timer));
  return {conn, stop() { clearInterval(timer); conn.destroy(); }};
}

// Resolves with `promise`'s value, or rejects when it takes over `ms`.
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)),
                       ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Files under the data dir's blobs (temporary writers' files included).
function blobFiles(server) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(server.dataDir, p));
    }
  };
  const dir = path.join(server.dataDir, 'blobs');
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

describe('40 slow uploads from one API key', () => {
  let server;
  let arm;
  let keys;
  let vaultKeys;
  let other;
  before(async () => {
    // Quotas out of the way: the review's 40 uploads all get in, as
    // before quotas existed, and must still not freeze anything.
    server = await startServer({extraArgs: [
      '--limits-max-uploads-per-principal', '1000',
      '--limits-max-uploads-per-account', '1000']});
    arm = await new Arm(server, {group: 'rg-slow'}).init();
    ({keys} = await arm.createAccount('slow-a', {identity: false}));
    const b = await arm.createAccount('slow-b', {identity: false});
    other = azure(server, 'slow-b', {apiKey: b.keys.key1});
    await other.files.create({file: await toFile(Buffer.from('b\n'), 'b.txt'),
                              purpose: 'assistants'});
    const vault = await arm.createVault('slowvault');
    vaultKeys = arm.keyClient(vault.properties.vaultUri);
    await vaultKeys.createRsaKey('k', {keySize: 2048});
  });
  after(async () => { await server?.stop(); });

  test('ARM, the token endpoint, vault GETs and another account\'s file ' +
       'list still answer at once', {timeout: 120000}, async () => {
    const uploads = await Promise.all(Array.from(
        {length: 40},
        () => slowUpload(server, 'slow-a', `api-key: ${keys.key1}`)));
    try {
      // Long enough for every head to reach its handler.
      await sleep(1500);
      const form = new URLSearchParams({
        grant_type: 'client_credentials', client_id: server.creds.clientId,
        client_secret: server.creds.clientSecret,
        scope: `${server.origin('management')}/.default`}).toString();
      for (let round = 0; round < 3; ++round) {
        const t0 = performance.now();
        const account = await within(5000, 'ARM GET',
                                     arm.cs.accounts.get(arm.group, 'slow-b'));
        assert.equal(account.name, 'slow-b');
        const token = await within(5000, 'token endpoint', fetch(
            `${server.origin('login')}/${server.creds.tenantId}/oauth2/v2.0/` +
                'token',
            {method: 'POST', body: form, headers: {
              'content-type': 'application/x-www-form-urlencoded'}}));
        assert.equal(token.status, 200);
        const key = await within(5000, 'vault GET', vaultKeys.getKey('k'));
        assert.equal(key.name, 'k');
        const names = [];
        await within(5000, 'another account\'s file list', (async () => {
          for await (const f of other.files.list()) names.push(f.filename);
        })());
        assert.deepEqual(names, ['b.txt']);
        const ms = performance.now() - t0;
        assert.ok(ms < 8000, `round ${round} took ${Math.round(ms)} ms`);
      }
      // The uploads are still in flight, not refused or dropped.
      for (const u of uploads) assert.equal(u.conn.closedAt, null);
    } finally {
      for (const u of uploads) u.stop();
    }
  });
});

describe('concurrent uploads per principal and per account', () => {
  let server;
  let arm;
  let keys;
  let entra;
  before(async () => {
    server = await startServer({extraArgs: [
      '--limits-max-uploads-per-principal', '2',
      '--limits-max-uploads-per-account', '3']});
    arm = await new Arm(server, {group: 'rg-quota'}).init();
    ({keys} = await arm.createAccount('quota-a', {identity: false}));
    // The administrator gets the data role, to upload as an Entra
    // principal besides the account's API keys.
    const auth = new AuthorizationManagementClient(
        arm.credential, arm.sub, {endpoint: server.origin('management')});
    await auth.roleAssignments.create(arm.accountPath('quota-a'),
                                      randomUUID(), {
      roleDefinitionId: `/subscriptions/${arm.sub}/providers/` +
          `Microsoft.Authorization/roleDefinitions/${OPENAI_USER_ROLE}`,
      principalId: server.creds.objectId,
    });
    entra = getBearerTokenProvider(arm.credential, COGNITIVE_SCOPE);
  });
  after(async () => { await server?.stop(); });

  async function refused429(promise, pattern) {
    await assert.rejects(promise, (e) => {
      assert.equal(e.status, 429, `${e.status} ${e.message}`);
      assert.equal(e.headers.get('retry-after'), '5');
      assert.equal(e.error?.code, '429');
      assert.match(e.message, pattern);
      return true;
    });
  }

  test('a third upload of one API key, and a fourth on the account, get ' +
       '429 with Retry-After; slots come back however uploads end',
       {timeout: 60000}, async () => {
    const small = async () => toFile(Buffer.from('hello\n'), 'h.txt');
    const byKey = azure(server, 'quota-a', {apiKey: keys.key1});
    const byKey2 = azure(server, 'quota-a', {apiKey: keys.key2});
    const byEntra = azure(server, 'quota-a', {azureADTokenProvider: entra});
    const token = await entra();
    const held = [
      await slowUpload(server, 'quota-a', `api-key: ${keys.key1}`),
      await slowUpload(server, 'quota-a', `api-key: ${keys.key2}`),
    ];
    try {
      await sleep(500);
      // key1 and key2 are one principal: the account's keys.
      await refused429(byKey.files.create({file: await small(),
                                           purpose: 'assistants'}),
                       /This caller has 2 uploads in progress/);
      await refused429(byKey2.files.create({file: await small(),
                                            purpose: 'assistants'}),
                       /This caller has 2 uploads in progress/);
      // An Entra principal has slots of its own, until the account is full.
      held.push(await slowUpload(server, 'quota-a',
                                 `Authorization: Bearer ${token}`));
      await sleep(500);
      await refused429(byEntra.files.create({file: await small(),
                                             purpose: 'assistants'}),
                       /This account has 3 uploads in progress/);
      // One upload cut short by its client frees its slots at once.
      held.shift().stop();
      await sleep(300);
      const f = await byEntra.files.create({file: await small(),
                                            purpose: 'assistants'});
      assert.equal(f.bytes, 6);
      // A finished upload frees them too: the account is at 2 again.
      const g = await byKey.files.create({file: await small(),
                                          purpose: 'assistants'});
      assert.equal(g.bytes, 6);
    } finally {
      for (const h of held) h.stop();
    }
    // Everything let go: uploads go through again, from both principals.
    await sleep(300);
    for (const c of [byKey, byKey2, byEntra]) {
      const f = await c.files.create({file: await small(),
                                      purpose: 'assistants'});
      assert.equal(f.status, 'processed');
    }
  });
});

describe('the minimum upload rate', () => {
  let server;
  let arm;
  let keys;
  before(async () => {
    // 10 kB/s over 2 s windows, so the test is quick.
    server = await startServer({extraArgs: [
      '--limits-min-upload-rate', '10000',
      '--limits-min-upload-rate-window-seconds', '2']});
    arm = await new Arm(server, {group: 'rg-rate'}).init();
    ({keys} = await arm.createAccount('rate-a', {identity: false}));
  });
  after(async () => { await server?.stop(); });

  test('an upload that slows to 1 KiB every 500 ms is cut off and nothing ' +
       'is stored', {timeout: 30000}, async () => {
    const client = azure(server, 'rate-a', {apiKey: keys.key1});
    const count = async () => {
      let n = 0;
      for await (const f of client.files.list()) n += Boolean(f);
      return n;
    };
    const tmpFiles = () => blobFiles(server).filter((f) => f.includes('~tmp-'));
    const before = await count();
    // 300 KiB at once: more than one read chunk, so the file part reaches
    // the encrypting blob writer before the client slows down.
    const u = await slowUpload(server, 'rate-a', `api-key: ${keys.key1}`,
                               {everyMs: 500, burst: 300 * 1024});
    const t0 = performance.now();
    try {
      let seen = false;
      for (let i = 0; i < 60 && !seen; ++i) {
        seen = tmpFiles().length > 0;
        if (!seen) await sleep(50);
      }
      assert.ok(seen, 'the upload was being written');
      assert.ok(await u.conn.waitClosed(10000), 'the server closed it');
      const ms = u.conn.closedAt - t0;
      assert.ok(ms >= 1500 && ms < 8000, `closed after ${Math.round(ms)} ms`);
      // Cut off, not answered: there is no one left to read an answer.
      assert.equal(parseResponses(u.conn.text()).length, 0, u.conn.text());
    } finally {
      u.stop();
    }
    assert.equal(await count(), before);
    // The writer's temporary file went with the upload.
    const left = await (async () => {
      for (let i = 0; i < 40 && tmpFiles().length > 0; ++i) await sleep(50);
      return tmpFiles();
    })();
    assert.deepEqual(left, []);
  });

  test('an upload at 100 kB/s, ten times the minimum, is never cut off',
       {timeout: 30000}, async () => {
    const conn = await RawConn.open(
        server.port, {servername: 'rate-a.openai.localhost'});
    const head =
        '--B\r\ncontent-disposition: form-data; name="purpose"\r\n\r\n' +
        'assistants\r\n--B\r\ncontent-disposition: form-data; name="file"; ' +
        'filename="steady.bin"\r\n\r\n';
    const tail = '\r\n--B--\r\n';
    const pieces = 40;  // 10 kB every 100 ms: 4 s in all.
    const size = head.length + pieces * 10000 + tail.length;
    try {
      await conn.write(
          `POST /openai/files?api-version=${API_VERSION} HTTP/1.1\r\n` +
          `Host: ${host(server, 'rate-a')}\r\napi-key: ${keys.key1}\r\n` +
          'Content-Type: multipart/form-data; boundary=B\r\n' +
          `Content-Length: ${size}\r\n\r\n${head}`);
      for (let i = 0; i < pieces; ++i) {
        await conn.write(Buffer.alloc(10000, 'a'));
        await sleep(100);
      }
      await conn.write(tail);
      const text = await conn.waitFor((t) => parseResponses(t)[0]?.complete,
                                      10000);
      const [res] = parseResponses(text);
      assert.equal(res.status, 201, res.body);
      assert.equal(JSON.parse(res.body).bytes, pieces * 10000);
    } finally {
      conn.destroy();
    }
  });
});
