// Storage through the real clients: a full data disk answers 507 in each
// API's own shape and the server still starts on it; content the service
// lost (a missing blob, a blob tampered in its first segment) answers 500 in
// the OpenAI shape without internal ids; deleting a file, a model, a job's
// checkpoints or an account leaves no copy of their wrapped keys in any
// file under the data dir.
//
// The full disk is atrest's test-only switch (--testing-full-disk-flag-file,
// docs/storage.md): while the flag file exists, every write that needs
// space fails as ENOSPC does, in atrest's files and in SQLite's alike.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync,
        readdirSync, rmSync, statSync, writeFileSync, writeSync}
  from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {ResourceManagementClient} from '@azure/arm-resources';
import {KeyClient} from '@azure/keyvault-keys';
import {AzureOpenAI, toFile} from 'openai';

import {Arm, poll} from './support/arm.js';
import {startServer} from './support/atrest.js';
import {RawConn, parseResponses} from './support/raw-tls.js';

const API_VERSION = '2024-10-21';
const NO_RETRY = {retryOptions: {maxRetries: 0}};

let server;
let arm;
let flag;  // The full-disk flag file.
const accounts = {};  // name -> {key, client, uid}

const full = (on) => (on ? writeFileSync(flag, '') : rmSync(flag, {force: true}));

function serverArgs() {
  return ['--testing-full-disk-flag-file', flag];
}

function clientFor(name, key) {
  return new AzureOpenAI({endpoint: `${server.origin(`${name}.openai`)}/`,
                          apiKey: key, apiVersion: API_VERSION,
                          maxRetries: 0});
}

async function createAccount(name) {
  const {keys} = await arm.createAccount(name, {identity: false});
  accounts[name] = {key: keys.key1, client: clientFor(name, keys.key1)};
  return accounts[name];
}

function db() { return path.join(server.dataDir, 'metadata.db'); }

/** Rows of a read-only query on the live metadata database. */
function query(sql) {
  const out = execFileSync('sqlite3', ['-readonly', db(), sql],
                           {encoding: 'utf8'});
  return out.split('\n').filter((l) => l.length > 0);
}

function accountUid(name) {
  const [uid] = query(`SELECT uid FROM accounts WHERE name_key = '${name}'`);
  assert.ok(uid, `uid of ${name}`);
  return uid;
}

/** The wrapped data keys of an account's objects of `kind` (or all). */
function wrappedDeks(uid, kind = null) {
  const where = kind ? ` AND kind = '${kind}'` : '';
  return query(`SELECT hex(wrapped_dek) FROM objects WHERE account_uid = ` +
               `'${uid}'${where}`).map((h) => Buffer.from(h, 'hex'));
}

function wrappedAek(uid) {
  const [h] = query(`SELECT hex(wrapped_aek) FROM accounts WHERE uid = '${uid}'`);
  return Buffer.from(h, 'hex');
}

/** Every regular file under dir, recursively. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Files under the data dir that hold `bytes` anywhere. */
function filesHolding(bytes) {
  return filesUnder(server.dataDir).filter((f) => {
    try {
      return readFileSync(f).includes(bytes);
    } catch {
      return false;  // Gone meanwhile.
    }
  }).map((f) => path.relative(server.dataDir, f));
}

/** What a message must never hold: paths, account uids, errno text. */
function assertNoInternals(message, uid) {
  assert.ok(!message.includes(server.dataDir), message);
  assert.ok(!message.includes('/blobs'), message);
  if (uid) assert.ok(!message.includes(uid), message);
  assert.doesNotMatch(message, /No space left|ENOSPC|errno|DATA_LOSS|blob /i);
}

function trainingFile(n) {
  const line = (i) => JSON.stringify({messages: [
    {role: 'system', content: 'You answer in one word.'},
    {role: 'user', content: `What comes after ${i}?`},
    {role: 'assistant', content: `${i + 1}`}]});
  return Buffer.from(Array.from({length: n}, (_, i) => line(i)).join('\n') +
                     '\n');
}

before(async () => {
  const dir = mkdtempSync(path.join(process.env.ATREST_TEST_ROOT ?? tmpdir(),
                                    'full-disk-'));
  flag = path.join(dir, 'disk-is-full');
  server = await startServer({extraArgs: serverArgs()});
  arm = await new Arm(server, {group: 'rg-storage'}).init();
  for (const name of ['store-a', 'store-b', 'store-ft', 'store-gone']) {
    await createAccount(name);
    accounts[name].uid = accountUid(name);
  }
});
after(async () => {
  full(false);
  await server?.stop();
});

describe('a full data disk', () => {
  test('an upload answers 507 in the OpenAI shape, naming nothing internal',
       async () => {
    const {client, uid} = accounts['store-a'];
    const kept = await client.files.create({
      file: await toFile(Buffer.from('kept\n'), 'kept.txt'),
      purpose: 'assistants'});
    full(true);
    try {
      await assert.rejects(
          client.files.create({file: await toFile(randomBytes(300000),
                                                  'big.bin'),
                               purpose: 'assistants'}),
          (e) => {
            assert.equal(e.status, 507, e.message);
            assert.equal(e.code, 'insufficientStorage');
            assert.equal(e.error?.type, 'server_error');
            assertNoInternals(e.message, uid);
            return true;
          });
    } finally {
      full(false);
    }
    const ids = [];
    for await (const f of client.files.list()) ids.push(f.id);
    assert.deepEqual(ids, [kept.id]);
    const blobs = filesUnder(path.join(server.dataDir, 'blobs', uid));
    assert.deepEqual(blobs.map((b) => path.basename(b)), [kept.id]);
  });

  test('a disk that fills during an upload: 507, and nothing is kept',
       async () => {
    const {key, uid} = accounts['store-a'];
    const boundary = 'atrestboundary7d1c';
    const content = randomBytes(8 << 20);
    const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="purpose"` +
        `\r\n\r\nassistants\r\n--${boundary}\r\nContent-Disposition: ` +
        `form-data; name="file"; filename="fills.bin"\r\nContent-Type: ` +
        `application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const body = Buffer.concat([head, content, tail]);
    const conn = await RawConn.open(server.port,
                                    {servername: 'store-a.openai.localhost'});
    await conn.write(
        `POST /openai/files?api-version=${API_VERSION} HTTP/1.1\r\n` +
        `Host: store-a.openai.localhost:${server.port}\r\napi-key: ${key}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`);
    // A part first, and once most of it is on the disk the disk fills: what
    // the server has not read yet stays within what it drains after its
    // answer, so closing does not reset the connection before we read it.
    const first = 1536 << 10;
    await conn.write(body.subarray(0, first));
    const dir = path.join(server.dataDir, 'blobs', uid);
    const growing = await poll(() => filesUnder(dir).find(
        (f) => f.includes('~tmp-') && statSync(f).size >= (1 << 20)), 10000,
                               10);
    assert.ok(growing, 'the upload was being written');
    full(true);
    try {
      // Then the rest, a chunk at a time, until the server answers.
      const answered = (t) => t.includes('HTTP/1.1');
      for (let at = first; at < body.length && !answered(conn.text()) &&
           conn.closedAt === null; at += 64 << 10) {
        try {
          await conn.write(body.subarray(at, Math.min(body.length,
                                                      at + (64 << 10))));
        } catch {
          break;  // The server answered and closed.
        }
        await conn.waitFor(answered, 100).catch(() => {});
      }
      await conn.waitFor((t) => parseResponses(t)[0]?.complete, 10000);
    } finally {
      full(false);
      conn.destroy();
    }
    const [res] = parseResponses(conn.text());
    assert.equal(res.status, 507, res.statusLine);
    const json = JSON.parse(res.body);
    assert.equal(json.error.code, 'insufficientStorage');
    assert.equal(json.error.type, 'server_error');
    assert.ok('param' in json.error);
    assertNoInternals(json.error.message, uid);
    // Neither the file nor its temporary blob is left.
    await poll(() => !filesUnder(dir).some((f) => f.includes('~tmp-')), 5000);
    assert.ok(!filesUnder(dir).some((f) => f.includes('~tmp-')));
    const names = [];
    for await (const f of accounts['store-a'].client.files.list()) {
      names.push(f.filename);
    }
    assert.ok(!names.includes('fills.bin'));
  });

  test('ARM and Key Vault writes answer 507 in their shapes', async () => {
    const endpoint = server.origin('management');
    const rm = new ResourceManagementClient(arm.credential, arm.sub,
                                            {endpoint, ...NO_RETRY});
    const vault = await arm.createVault('kv-full-disk');
    const keys = new KeyClient(vault.properties.vaultUri, arm.credential,
                               NO_RETRY);
    await keys.createRsaKey('before', {keySize: 2048});
    full(true);
    try {
      await assert.rejects(
          rm.resourceGroups.createOrUpdate('rg-on-full-disk',
                                           {location: 'westeurope'}),
          (e) => {
            assert.equal(e.statusCode, 507, e.message);
            assert.equal(e.code, 'InsufficientStorage');
            assertNoInternals(e.message);
            return true;
          });
      await assert.rejects(keys.createRsaKey('after', {keySize: 2048}), (e) => {
        assert.equal(e.statusCode, 507, e.message);
        assert.equal(e.code, 'InsufficientStorage');
        assertNoInternals(e.message);
        return true;
      });
      // Reads go on.
      assert.equal((await keys.getKey('before')).name, 'before');
      assert.equal((await rm.resourceGroups.get('rg-storage')).name,
                   'rg-storage');
    } finally {
      full(false);
    }
    await rm.resourceGroups.createOrUpdate('rg-on-full-disk',
                                           {location: 'westeurope'});
    await keys.createRsaKey('after', {keySize: 2048});
  });
});

describe('content the service lost', () => {
  test('a missing blob: 500 in the OpenAI shape, no internal ids',
       async () => {
    const {client, uid, key} = accounts['store-a'];
    const f = await client.files.create({
      file: await toFile(randomBytes(1000), 'lost.bin'),
      purpose: 'assistants'});
    rmSync(path.join(server.dataDir, 'blobs', uid, f.id));
    // Its metadata is still there.
    assert.equal((await client.files.retrieve(f.id)).id, f.id);
    await assert.rejects(client.files.content(f.id), (e) => {
      assert.equal(e.status, 500, e.message);
      assert.equal(e.code, 'internalFailure');
      assertNoInternals(e.message, uid);
      assert.ok(!e.message.includes(f.id), e.message);
      return true;
    });
    const res = await fetch(
        `${server.origin('store-a.openai')}/openai/files/${f.id}/content` +
        `?api-version=${API_VERSION}`, {headers: {'api-key': key}});
    assert.equal(res.status, 500);
    const json = await res.json();
    assert.deepEqual(Object.keys(json.error).sort(),
                     ['code', 'message', 'param', 'type']);
  });

  test('a blob tampered in its first segment: 500 in the OpenAI shape, ' +
       'not a raw DATA_LOSS', async () => {
    const {client, uid, key} = accounts['store-a'];
    const body = randomBytes(300000);  // Five segments.
    const f = await client.files.create({file: await toFile(body, 't.bin'),
                                         purpose: 'assistants'});
    const blob = path.join(server.dataDir, 'blobs', uid, f.id);
    const fd = openSync(blob, 'r+');
    const at = 1000;  // Inside the first segment, far from the last.
    const byte = readFileSync(blob)[at];
    writeSync(fd, Buffer.from([byte ^ 0x01]), 0, 1, at);
    closeSync(fd);
    await assert.rejects(client.files.content(f.id), (e) => {
      assert.equal(e.status, 500, e.message);
      assert.equal(e.code, 'internalFailure');
      assertNoInternals(e.message, uid);
      return true;
    });
    const res = await fetch(
        `${server.origin('store-a.openai')}/openai/files/${f.id}/content` +
        `?api-version=${API_VERSION}`, {headers: {'api-key': key}});
    assert.equal(res.status, 500);
    const json = await res.json();
    assert.equal(json.error.code, 'internalFailure');
    assert.equal(res.headers.get('x-should-retry'), 'false');
  });
});

describe('deletion shreds wrapped keys', () => {
  test('a deleted file leaves its wrapped data key in no file under the ' +
       'data dir', async () => {
    const {client, uid} = accounts['store-a'];
    const f = await client.files.create({
      file: await toFile(randomBytes(5000), 'shred.bin'),
      purpose: 'assistants'});
    const [dek] = query(`SELECT hex(wrapped_dek) FROM objects WHERE ` +
                        `account_uid = '${uid}' AND id = '${f.id}'`)
                      .map((h) => Buffer.from(h, 'hex'));
    assert.ok(dek.length >= 32, 'a wrapped key');
    // The scan finds it while the file exists, so its absence means a shred.
    assert.notDeepEqual(filesHolding(dek), []);
    await client.files.delete(f.id);
    assert.deepEqual(filesHolding(dek), []);
  });

  test('a deleted model and a deleted job\'s checkpoints leave no wrapped ' +
       'key behind', async () => {
    const {client, uid, key} = accounts['store-ft'];
    const training = await client.files.create({
      file: await toFile(trainingFile(12), 'train.jsonl'),
      purpose: 'fine-tune'});
    const job = await client.fineTuning.jobs.create({
      model: 'atrest-ngram-1', training_file: training.id,
      hyperparameters: {n_epochs: 2}});
    const done = await poll(async () => {
      const j = await client.fineTuning.jobs.retrieve(job.id);
      return ['succeeded', 'failed', 'cancelled'].includes(j.status) && j;
    }, 120000, 200);
    assert.equal(done?.value.status, 'succeeded', JSON.stringify(done?.value));
    const models = wrappedDeks(uid, 'model');
    const checkpoints = wrappedDeks(uid, 'checkpoint');
    assert.equal(models.length, 1);
    assert.ok(checkpoints.length >= 1);
    for (const k of [...models, ...checkpoints]) {
      assert.notDeepEqual(filesHolding(k), []);
    }
    await client.models.delete(done.value.fine_tuned_model);
    assert.deepEqual(filesHolding(models[0]), []);
    const res = await fetch(
        `${server.origin('store-ft.openai')}/openai/fine_tuning/jobs/` +
        `${job.id}?api-version=${API_VERSION}`,
        {method: 'DELETE', headers: {'api-key': key}});
    assert.equal(res.status, 204, await res.text());
    for (const k of checkpoints) assert.deepEqual(filesHolding(k), []);
  });

  test('a deleted account leaves neither its wrapped key nor its files\' ' +
       'in any file', async () => {
    const {client, uid} = accounts['store-gone'];
    for (let i = 0; i < 3; i++) {
      await client.files.create({
        file: await toFile(randomBytes(2000), `f${i}.bin`),
        purpose: 'assistants'});
    }
    const aek = wrappedAek(uid);
    const deks = wrappedDeks(uid);
    assert.equal(deks.length, 3);
    for (const k of [aek, ...deks]) assert.notDeepEqual(filesHolding(k), []);
    await arm.cs.accounts.beginDeleteAndWait(arm.group, 'store-gone');
    for (const k of [aek, ...deks]) assert.deepEqual(filesHolding(k), []);
    // Its blobs went too.
    await poll(() => !existsSync(path.join(server.dataDir, 'blobs', uid)) ||
                   filesUnder(path.join(server.dataDir, 'blobs', uid))
                           .length === 0, 5000);
  });
});

// Last: it restarts the server.
describe('a restart on a full disk', () => {
  test('the server starts on a full disk, says why, serves reads and takes ' +
       'writes again once space is freed', async () => {
    const {client} = accounts['store-b'];
    const body = randomBytes(200000);
    const kept = await client.files.create({file: await toFile(body, 'r.bin'),
                                            purpose: 'assistants'});
    await server.stop();
    full(true);
    try {
      server = await startServer({dataDir: server.dataDir, port: server.port,
                                  extraArgs: serverArgs()});
      assert.match(server.output(), /the data disk is full/);
      assert.match(server.output(), /507/);
      const again = clientFor('store-b', accounts['store-b'].key);
      assert.equal((await again.files.retrieve(kept.id)).id, kept.id);
      const res = await again.files.content(kept.id);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
      await assert.rejects(
          again.files.create({file: await toFile(Buffer.from('x'), 'x.txt'),
                              purpose: 'assistants'}),
          (e) => e.status === 507);
    } finally {
      full(false);
    }
    const later = await accounts['store-b'].client.files.create({
      file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'assistants'});
    assert.equal(later.status, 'processed');
  });
});
