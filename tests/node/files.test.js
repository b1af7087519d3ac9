// The Files API of an account's data plane
// (https://<account>.openai.<domain>) through the npm `openai` package
// exactly as Azure users run it (reference/azure-openai-api.md §1.1-1.4,
// §2.2): `AzureOpenAI` on the dated API (api-version 2024-10-21) with an API
// key or an Entra token, and the plain `OpenAI` client on the v1 API
// (baseURL .../openai/v1). Upload, list with pagination, retrieve, content
// (also by HTTP Range), delete; fine-tune file validation; keys and roles;
// one account's files are invisible to another.
import assert from 'node:assert/strict';
import {randomBytes, randomUUID} from 'node:crypto';
import {existsSync, openSync, readSync, readdirSync, statSync, writeSync,
        closeSync} from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {CognitiveServicesManagementClient} from '@azure/arm-cognitiveservices';
import {AuthorizationManagementClient} from '@azure/arm-authorization';
import {ResourceManagementClient} from '@azure/arm-resources';
import {ClientSecretCredential, getBearerTokenProvider} from '@azure/identity';
import OpenAI, {AzureOpenAI, toFile} from 'openai';

import {atrest, startServer} from './support/atrest.js';

const API_VERSION = '2024-10-21';
const FILE_ID = /^file-[0-9a-f]{32}$/;
const OPENAI_USER_ROLE = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd';
const COGNITIVE_SCOPE = 'https://cognitiveservices.azure.com/.default';

let server;
let credential;
let sub;
let cs;
const rg = 'rg-files';
const keys = {};  // account name -> {key1, key2}

function credentialFor(creds) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId,
                                    creds.clientSecret, {
                                      authorityHost: server.origin('login'),
                                      disableInstanceDiscovery: true,
                                    });
}

function endpointOf(account) { return `${server.origin(`${account}.openai`)}/`; }

/** AzureOpenAI on the dated API with the account's key1 (or `apiKey`). */
function azure(account, apiKey = keys[account].key1) {
  return new AzureOpenAI({endpoint: endpointOf(account), apiKey,
                          apiVersion: API_VERSION, maxRetries: 0});
}

/** The plain OpenAI client on the account's v1 API. */
function v1(account, apiKey = keys[account].key1) {
  return new OpenAI({baseURL: `${server.origin(`${account}.openai`)}/openai/v1`,
                     apiKey, maxRetries: 0});
}

async function createAccount(name) {
  await cs.accounts.beginCreateAndWait(rg, name, {
    location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'}});
  keys[name] = await cs.accounts.listKeys(rg, name);
}

function accountScope(name) {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/` +
      `Microsoft.CognitiveServices/accounts/${name}`;
}

function chatLine(i) {
  return JSON.stringify({messages: [
    {role: 'system', content: 'You answer in one word.'},
    {role: 'user', content: `What comes after ${i}?`},
    {role: 'assistant', content: `${i + 1}`},
  ]});
}

/** A valid chat fine-tuning file of `n` examples. */
function trainingFile(n) {
  return Buffer.from(Array.from({length: n}, (_, i) => chatLine(i)).join('\n') +
                     '\n');
}

async function upload(client, bytes, filename, purpose = 'fine-tune') {
  return client.files.create({file: await toFile(bytes, filename), purpose});
}

async function contentOf(client, id) {
  const res = await client.files.content(id);
  return Buffer.from(await res.arrayBuffer());
}

/** A raw request on the dated API of `account`. */
async function dated(account, pathAndQuery, {headers = {}, method = 'GET',
                                             key = keys[account].key1} = {}) {
  const h = {...headers};
  if (key !== null) h['api-key'] = key;
  return fetch(`${endpointOf(account)}openai/${pathAndQuery}`, {method,
                                                                headers: h});
}

/** Asserts that `promise` fails with an openai APIError of `status`. */
async function refused(promise, status, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.status, status, `${e.status} ${e.message}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Every file under dir (recursively), as paths relative to it. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(path.relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** The committed blobs (not writers' temporary files) and their sizes. */
function blobs() {
  const dir = path.join(server.dataDir, 'blobs');
  return new Map(filesUnder(dir)
                     .filter((f) => !f.includes('~tmp-'))
                     .map((f) => [f, statSync(path.join(dir, f)).size]));
}

function added(beforeMap, afterMap) {
  return [...afterMap.keys()].filter((k) => !beforeMap.has(k));
}

before(async () => {
  server = await startServer();
  credential = credentialFor(server.creds);
  sub = server.creds.subscriptionId;
  cs = new CognitiveServicesManagementClient(credential, sub, {
    endpoint: server.origin('management')});
  const rm = new ResourceManagementClient(credential, sub, {
    endpoint: server.origin('management')});
  await rm.resourceGroups.createOrUpdate(rg, {location: 'westeurope'});
  for (const name of ['files-a', 'files-b', 'files-page']) {
    await createAccount(name);
  }
});
after(async () => { await server?.stop(); });

describe('files through AzureOpenAI (dated API)', () => {
  test('upload answers 201 with a processed file object', async () => {
    const body = trainingFile(10);
    const started = Math.floor(Date.now() / 1000);
    const {data: f, response} = await azure('files-a').files.create({
      file: await toFile(body, 'train.jsonl'), purpose: 'fine-tune',
    }).withResponse();
    assert.equal(response.status, 201);
    assert.equal(f.object, 'file');
    assert.match(f.id, FILE_ID);
    assert.equal(f.bytes, body.length);
    assert.equal(f.filename, 'train.jsonl');
    assert.equal(f.purpose, 'fine-tune');
    assert.equal(f.status, 'processed');
    assert.ok(f.status_details === undefined || f.status_details === null ||
              f.status_details === '', JSON.stringify(f));
    assert.ok(Number.isInteger(f.created_at));
    assert.ok(f.created_at >= started - 5 && f.created_at <= started + 60,
              `created_at ${f.created_at}`);
  });

  test('upload, list, retrieve, content, delete', async () => {
    const client = azure('files-a');
    const body = trainingFile(12);
    const f = await upload(client, body, 'walk.jsonl');
    const listed = [];
    for await (const x of client.files.list()) listed.push(x);
    const mine = listed.find((x) => x.id === f.id);
    assert.ok(mine, 'listed');
    assert.deepEqual(mine, f);
    assert.deepEqual(await client.files.retrieve(f.id), f);
    assert.deepEqual(await contentOf(client, f.id), body);

    const deleted = await client.files.delete(f.id);
    assert.deepEqual(deleted, {id: f.id, object: 'file', deleted: true});
    await refused(client.files.retrieve(f.id), 404);
    await refused(client.files.content(f.id), 404);
    await refused(client.files.delete(f.id), 404);
    const after = [];
    for await (const x of client.files.list()) after.push(x.id);
    assert.ok(!after.includes(f.id));
  });

  test('a 5 MiB random binary file comes back byte for byte', async () => {
    const client = azure('files-a');
    const body = randomBytes(5 * 1024 * 1024);
    const f = await upload(client, body, 'random.bin', 'assistants');
    assert.equal(f.bytes, body.length);
    assert.equal(f.status, 'processed');
    assert.equal(f.purpose, 'assistants');
    const back = await contentOf(client, f.id);
    assert.equal(back.length, body.length);
    assert.ok(back.equals(body), 'content differs');
    // Through the v1 API too: the same resources.
    assert.ok((await contentOf(v1('files-a'), f.id)).equals(body));
  });

  test('content by HTTP Range', async () => {
    const client = azure('files-a');
    const size = 3 * 1024 * 1024 + 12345;
    const body = randomBytes(size);
    const f = await upload(client, body, 'ranged.bin', 'assistants');
    const get = async (range, viaV1 = false) => {
      const res = viaV1 ?
          await fetch(`${server.origin('files-a.openai')}/openai/v1/files/` +
                      `${f.id}/content`, {headers: {
            authorization: `Bearer ${keys['files-a'].key1}`, range}}) :
          await dated('files-a', `files/${f.id}/content?api-version=` +
                      API_VERSION, {headers: {range}});
      return {status: res.status, headers: res.headers,
              body: Buffer.from(await res.arrayBuffer())};
    };
    // The whole file says it takes ranges.
    const whole = await dated('files-a',
                              `files/${f.id}/content?api-version=${API_VERSION}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal(Number(whole.headers.get('content-length')), size);
    await whole.arrayBuffer();

    const cases = [
      [0, 0], [100, 199], [65530, 65545], [1048570, 1048600],
      [size - 10, size - 1], [12345, 2 * 1024 * 1024 + 7],
    ];
    for (const [first, last] of cases) {
      const r = await get(`bytes=${first}-${last}`);
      assert.equal(r.status, 206, `bytes=${first}-${last}`);
      assert.equal(r.headers.get('content-range'),
                   `bytes ${first}-${last}/${size}`);
      assert.equal(Number(r.headers.get('content-length')), last - first + 1);
      assert.ok(r.body.equals(body.subarray(first, last + 1)),
                `bytes=${first}-${last}`);
    }
    let r = await get('bytes=-10');  // The last 10 bytes.
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'),
                 `bytes ${size - 10}-${size - 1}/${size}`);
    assert.ok(r.body.equals(body.subarray(size - 10)));
    r = await get(`bytes=${size - 1000}-`);  // Open-ended.
    assert.equal(r.status, 206);
    assert.ok(r.body.equals(body.subarray(size - 1000)));
    r = await get(`bytes=${size - 5}-${size + 100}`);  // Clipped at the end.
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'),
                 `bytes ${size - 5}-${size - 1}/${size}`);
    assert.ok(r.body.equals(body.subarray(size - 5)));
    r = await get('bytes=100-199', true);  // The v1 API too.
    assert.equal(r.status, 206);
    assert.ok(r.body.equals(body.subarray(100, 200)));
    r = await get(`bytes=${size}-`);  // Nothing there.
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), `bytes */${size}`);
    r = await get('bytes=-0');  // An empty suffix.
    assert.equal(r.status, 416);
    // Range headers that are not valid single ranges are ignored (the
    // whole file, RFC 9110 §14.2) or refused, never misread.
    for (const range of ['bytes=abc', 'bytes=5-2', 'items=0-9',
                         'bytes=0-1,4-5', 'bytes=1-2,']) {
      r = await get(range);
      assert.ok([200, 416].includes(r.status), `${range}: ${r.status}`);
      if (r.status === 200) assert.ok(r.body.equals(body), range);
    }
  });

  test('list: pagination by limit and after, order, purpose, first_id ' +
       'and last_id', async () => {
    const client = azure('files-page');
    const uploaded = [];
    for (let i = 0; i < 4; i++) {
      uploaded.push(await upload(client, Buffer.from(`file ${i}\n`),
                                 `f${i}.txt`, 'assistants'));
    }
    uploaded.push(await upload(client, trainingFile(10), 'tune.jsonl'));
    const all = new Set(uploaded.map((f) => f.id));

    // Page by page through the SDK, 2 at a time.
    const sizes = [];
    const seen = [];
    let page = await client.files.list({limit: 2});
    for (;;) {
      sizes.push(page.data.length);
      seen.push(...page.data);
      if (!page.hasNextPage()) break;
      page = await page.getNextPage();
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(new Set(seen.map((f) => f.id)), all);
    assert.equal(seen.length, 5);
    // Newest first by default.
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i - 1].created_at >= seen[i].created_at);
    }
    const asc = [];
    for await (const f of client.files.list({limit: 2, order: 'asc'})) {
      asc.push(f);
    }
    assert.deepEqual(new Set(asc.map((f) => f.id)), all);
    for (let i = 1; i < asc.length; i++) {
      assert.ok(asc[i - 1].created_at <= asc[i].created_at);
    }
    // `after` continues after the given id in that order.
    const next = await client.files.list({after: seen[1].id, limit: 2});
    assert.deepEqual(next.data.map((f) => f.id),
                     seen.slice(2, 4).map((f) => f.id));

    // The raw body: object, first_id, last_id, has_more.
    let res = await dated('files-page',
                          `files?api-version=${API_VERSION}&limit=2`);
    assert.equal(res.status, 200);
    let body = await res.json();
    assert.equal(body.object, 'list');
    assert.equal(body.data.length, 2);
    assert.equal(body.first_id, body.data[0].id);
    assert.equal(body.last_id, body.data[1].id);
    assert.equal(body.has_more, true);
    res = await dated('files-page', `files?api-version=${API_VERSION}` +
                      `&limit=2&after=${seen[3].id}`);
    body = await res.json();
    assert.deepEqual(body.data.map((f) => f.id), [seen[4].id]);
    assert.equal(body.has_more, false);

    // Bad parameters (v1: limit 1 to 10,000; order asc or desc).
    for (const q of ['limit=0', 'limit=10001', 'limit=abc', 'order=up']) {
      res = await dated('files-page', `files?api-version=${API_VERSION}&${q}`);
      assert.equal(res.status, 400, q);
      assert.ok((await res.json()).error.message, q);
    }
    await refused(client.files.list({limit: 0}), 400);

    // By purpose.
    const tune = [];
    for await (const f of client.files.list({purpose: 'fine-tune'})) {
      tune.push(f.id);
    }
    assert.deepEqual(tune, [uploaded[4].id]);
    const assistants = [];
    for await (const f of client.files.list({purpose: 'assistants'})) {
      assistants.push(f.id);
    }
    assert.deepEqual(new Set(assistants),
                     new Set(uploaded.slice(0, 4).map((f) => f.id)));
  });

  test('fine-tune files are validated: bad lines named, too few examples',
       async () => {
    const client = azure('files-a');
    const lines = Array.from({length: 12}, (_, i) => chatLine(i));
    lines[2] = JSON.stringify({messages: [
      {role: 'user', content: 'hi'}, {role: 'robot', content: 'beep'}]});
    lines[6] = '{"messages": [ this is not JSON';
    lines[8] = JSON.stringify({messages: [{role: 'user', content: 'alone'}]});
    const bad = await upload(client, Buffer.from(lines.join('\n') + '\n'),
                             'bad.jsonl');
    assert.equal(bad.status, 'error', JSON.stringify(bad));
    assert.equal(typeof bad.status_details, 'string');
    for (const n of [3, 7, 9]) {
      assert.match(bad.status_details, new RegExp(`Line ${n}\\b`),
                   bad.status_details);
    }
    for (const n of [1, 2, 4, 5, 6, 8, 10, 11, 12]) {
      assert.doesNotMatch(bad.status_details, new RegExp(`Line ${n}\\b`),
                          bad.status_details);
    }
    // Named by position, never quoted: status_details is stored unencrypted.
    assert.match(bad.status_details, /unrecognized role/);
    assert.doesNotMatch(bad.status_details, /robot|beep|alone/);
    // What retrieve and list say is the same.
    assert.equal((await client.files.retrieve(bad.id)).status, 'error');
    assert.equal((await client.files.retrieve(bad.id)).status_details,
                 bad.status_details);

    const few = await upload(client, trainingFile(5), 'few.jsonl');
    assert.equal(few.status, 'error');
    assert.match(few.status_details, /\b5\b/);
    assert.match(few.status_details, /\b10\b/);

    const enough = await upload(client, trainingFile(10), 'enough.jsonl');
    assert.equal(enough.status, 'processed');
    // The SDK sends the file part before the purpose; the verdict is the
    // same with the purpose first.
    const url = `${endpointOf('files-a')}openai/files?api-version=${API_VERSION}`;
    for (const [bytes, status] of [[trainingFile(10), 'processed'],
                                   [trainingFile(3), 'error']]) {
      const form = new FormData();
      form.append('purpose', 'fine-tune');
      form.append('file', new Blob([bytes]), 'first.jsonl');
      const res = await fetch(url, {method: 'POST', body: form,
                                    headers: {'api-key': keys['files-a'].key1}});
      assert.equal(res.status, 201);
      assert.equal((await res.json()).status, status);
    }
    // With a byte order mark and CRLF line ends, as Azure asks for.
    const bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(Array.from({length: 10}, (_, i) => chatLine(i))
                      .join('\r\n'))]);
    assert.equal((await upload(client, bom, 'bom.jsonl')).status, 'processed');

    // Not JSON Lines at all.
    const binary = await upload(client, randomBytes(4096), 'weights.jsonl');
    assert.equal(binary.status, 'error');
    assert.ok(binary.status_details.length > 0);
    // Fine-tune files are .jsonl files: refused, or kept as an error.
    try {
      const txt = await upload(client, trainingFile(10), 'train.txt');
      assert.equal(txt.status, 'error', JSON.stringify(txt));
      assert.match(txt.status_details, /jsonl/i);
    } catch (e) {
      assert.equal(e.status, 400, e.message);
    }
  });

  test('an unknown purpose is refused with 400', async () => {
    await refused(upload(azure('files-a'), Buffer.from('x'), 'x.txt',
                         'no-such-purpose'), 400);
  });

  test('an empty file, and filenames that look like paths', async () => {
    const client = azure('files-a');
    const empty = await upload(client, Buffer.alloc(0), 'empty.txt',
                               'assistants');
    assert.equal(empty.bytes, 0);
    assert.equal(empty.status, 'processed');
    assert.equal((await contentOf(client, empty.id)).length, 0);
    const res = await dated('files-a', `files/${empty.id}/content` +
                            `?api-version=${API_VERSION}`,
                            {headers: {range: 'bytes=0-'}});
    await res.arrayBuffer();
    assert.ok([200, 416].includes(res.status), `${res.status}`);

    // A filename is a name, never a path on the server.
    const parent = path.dirname(server.dataDir);
    const beforeParent = filesUnder(parent).length;
    for (const name of ['../../escape.bin', '/etc/escape.bin',
                        'dir\\escape.bin']) {
      try {
        const f = await upload(client, Buffer.from('not a path\n'), name,
                               'assistants');
        assert.equal((await contentOf(client, f.id)).toString(),
                     'not a path\n');
        await client.files.delete(f.id);
      } catch (e) {
        assert.equal(e.status, 400, `${name}: ${e.message}`);
      }
    }
    assert.ok(!filesUnder(parent).some((f) => f.includes('escape')),
              'a file named after the upload');
    assert.ok(filesUnder(parent).length >= beforeParent);
  });

  test('malformed uploads are refused with 400 and store nothing',
       async () => {
    const url = `${endpointOf('files-a')}openai/files?api-version=${API_VERSION}`;
    const post = (form) => fetch(url, {
      method: 'POST', headers: {'api-key': keys['files-a'].key1}, body: form});
    const before = blobs();
    const count = async () => {
      let n = 0;
      for await (const f of azure('files-a').files.list()) n += Boolean(f);
      return n;
    };
    const n = await count();
    let form = new FormData();  // No file.
    form.append('purpose', 'assistants');
    let res = await post(form);
    assert.equal(res.status, 400, await res.text());
    form = new FormData();  // No purpose.
    form.append('file', new Blob([Buffer.from('x')]), 'x.txt');
    res = await post(form);
    assert.equal(res.status, 400, await res.text());
    // Not multipart at all.
    res = await fetch(url, {method: 'POST', body: '{"purpose":"assistants"}',
                            headers: {'api-key': keys['files-a'].key1,
                                      'content-type': 'application/json'}});
    assert.equal(res.status, 400, await res.text());
    // A body that ends before its closing boundary.
    res = await fetch(url, {
      method: 'POST',
      headers: {'api-key': keys['files-a'].key1,
                'content-type': 'multipart/form-data; boundary=XyZ'},
      body: '--XyZ\r\ncontent-disposition: form-data; name="purpose"\r\n\r\n' +
          'assistants\r\n--XyZ\r\ncontent-disposition: form-data; ' +
          'name="file"; filename="t.txt"\r\n\r\ntruncated'});
    assert.equal(res.status, 400, await res.text());
    assert.equal(await count(), n);
    assert.deepEqual(added(before, blobs()), []);
  });

  test('an upload the client abandons leaves nothing behind', async () => {
    const before = blobs();
    const dir = path.join(server.dataDir, 'blobs');
    const tmpFiles = () => filesUnder(dir).filter((f) => f.includes('~tmp-'));
    const url = new URL(`${endpointOf('files-a')}openai/files` +
                        `?api-version=${API_VERSION}`);
    await new Promise((resolve) => {
      const req = https.request(url, {method: 'POST', headers: {
        'api-key': keys['files-a'].key1,
        'content-type': 'multipart/form-data; boundary=B',
        'content-length': 50 * 1024 * 1024}});
      req.on('error', resolve);
      req.on('response', (res) => { res.resume(); resolve(); });
      req.write('--B\r\ncontent-disposition: form-data; name="purpose"\r\n' +
                '\r\nassistants\r\n--B\r\ncontent-disposition: form-data; ' +
                'name="file"; filename="big.bin"\r\n\r\n');
      req.write(randomBytes(3 * 1024 * 1024));
      // Once the server is writing it, go away.
      const deadline = Date.now() + 5000;
      const poll = setInterval(() => {
        if (tmpFiles().length > 0 || Date.now() > deadline) {
          clearInterval(poll);
          req.destroy();
        }
      }, 20);
    });
    const ms = await (async () => {
      const t0 = Date.now();
      while (tmpFiles().length > 0 && Date.now() - t0 < 5000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return Date.now() - t0;
    })();
    assert.deepEqual(tmpFiles(), [], `temporary blobs remain after ${ms} ms`);
    assert.deepEqual(added(before, blobs()), []);
    for await (const f of azure('files-a').files.list()) {
      assert.notEqual(f.filename, 'big.bin');
    }
  });

  test('concurrent uploads and downloads', async () => {
    const client = azure('files-a');
    const bodies = Array.from({length: 8}, () => randomBytes(1024 * 1024 +
                                                             randomBytes(1)[0]));
    const files = await Promise.all(bodies.map(
        (b, i) => upload(client, b, `c${i}.bin`, 'assistants')));
    assert.equal(new Set(files.map((f) => f.id)).size, files.length);
    const back = await Promise.all(files.map((f) => contentOf(client, f.id)));
    back.forEach((b, i) => assert.ok(b.equals(bodies[i]), `file ${i}`));
    await Promise.all(files.map((f) => client.files.delete(f.id)));
  });

  test('missing api-version on the dated API is a 404', async () => {
    const f = await upload(azure('files-a'), Buffer.from('hello\n'),
                           'hello.txt', 'assistants');
    for (const p of ['files', `files/${f.id}`, `files/${f.id}/content`]) {
      const res = await dated('files-a', p);
      assert.equal(res.status, 404, p);
      const body = await res.json();
      assert.ok(body.error, JSON.stringify(body));
    }
  });
});

describe('files through OpenAI (v1 API)', () => {
  test('upload, list, retrieve, content, delete', async () => {
    const client = v1('files-a');
    const body = trainingFile(11);
    const {data: f, response} = await client.files.create({
      file: await toFile(body, 'v1.jsonl'), purpose: 'fine-tune',
    }).withResponse();
    assert.ok([200, 201].includes(response.status));
    assert.match(f.id, FILE_ID);
    assert.equal(f.object, 'file');
    assert.equal(f.status, 'processed');
    assert.equal(f.bytes, body.length);
    const ids = [];
    for await (const x of client.files.list({limit: 3})) ids.push(x.id);
    assert.ok(ids.includes(f.id));
    assert.deepEqual(await client.files.retrieve(f.id), f);
    assert.deepEqual(await contentOf(client, f.id), body);
    // Seen through the dated API as well.
    assert.deepEqual(await azure('files-a').files.retrieve(f.id), f);
    assert.deepEqual(await client.files.delete(f.id),
                     {id: f.id, object: 'file', deleted: true});
    await refused(client.files.retrieve(f.id), 404);
    await refused(azure('files-a').files.retrieve(f.id), 404);
  });

  test('api-version is optional on v1', async () => {
    const res = await fetch(`${server.origin('files-a.openai')}/openai/v1/files`,
                            {headers: {'api-key': keys['files-a'].key2}});
    assert.equal(res.status, 200);
    assert.equal((await res.json()).object, 'list');
  });
});

describe('authentication and isolation', () => {
  test('api-key header, Bearer <api key>, key2; wrong or no key is 401',
       async () => {
    const a = keys['files-a'];
    const list = (headers) => dated('files-a', `files?api-version=${API_VERSION}`,
                                    {headers, key: null});
    assert.equal((await list({'api-key': a.key1})).status, 200);
    assert.equal((await list({'api-key': a.key2})).status, 200);
    assert.equal((await list({authorization: `Bearer ${a.key1}`})).status, 200);
    let res = await list({'api-key': 'f'.repeat(32)});
    assert.equal(res.status, 401);
    assert.ok((await res.json()).error, 'an {error} body');
    res = await list({});
    assert.equal(res.status, 401);
    res = await list({authorization: `Bearer ${'0'.repeat(32)}`});
    assert.equal(res.status, 401);
    await refused(azure('files-a', 'not-the-key').files.list(), 401);
    await refused(v1('files-a', 'not-the-key').files.list(), 401);
  });

  test("one account's key cannot reach another's files; ids do not cross",
       async () => {
    const b = await upload(azure('files-b'), Buffer.from('secret of B\n'),
                           'b.txt', 'assistants');
    // A's key on B's endpoint.
    await refused(azure('files-b', keys['files-a'].key1).files.list(), 401);
    await refused(azure('files-b', keys['files-a'].key1).files.retrieve(b.id),
                  401);
    await refused(azure('files-b', keys['files-a'].key1).files.content(b.id),
                  401);
    await refused(v1('files-b', keys['files-a'].key1).files.content(b.id), 401);
    // B's file id on A's endpoint with A's key.
    const a = azure('files-a');
    await refused(a.files.retrieve(b.id), 404);
    await refused(a.files.content(b.id), 404);
    await refused(a.files.delete(b.id), 404);
    await refused(v1('files-a').files.content(b.id), 404);
    for await (const f of a.files.list()) assert.notEqual(f.id, b.id);
    // Still there for B.
    assert.equal((await contentOf(azure('files-b'), b.id)).toString(),
                 'secret of B\n');
  });

  test('an unknown account host is not served', async () => {
    const res = await fetch(`${server.origin('no-such-acct.openai')}/openai/` +
                            `files?api-version=${API_VERSION}`,
                            {headers: {'api-key': keys['files-a'].key1}});
    assert.ok([401, 404].includes(res.status), `${res.status}`);
  });

  test('Entra token of a principal with Cognitive Services OpenAI User ' +
       'on the account', async () => {
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, 'sp', 'create-for-rbac', '--name',
      'files-user']));
    const listed = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                      'sp', 'list']));
    const objectId = listed.find((p) => p.appId === sp.appId).id;
    const spCred = credentialFor({tenantId: sp.tenant, clientId: sp.appId,
                                  clientSecret: sp.password});
    const entra = (account) => new AzureOpenAI({
      endpoint: endpointOf(account), apiVersion: API_VERSION, maxRetries: 0,
      azureADTokenProvider: getBearerTokenProvider(spCred, COGNITIVE_SCOPE),
    });

    // No role yet.
    await assert.rejects(entra('files-a').files.list(),
                         (e) => [401, 403].includes(e.status));

    const auth = new AuthorizationManagementClient(
        credential, sub, {endpoint: server.origin('management')});
    const assignment = randomUUID();
    await auth.roleAssignments.create(accountScope('files-a'), assignment, {
      roleDefinitionId: `/subscriptions/${sub}/providers/` +
          `Microsoft.Authorization/roleDefinitions/${OPENAI_USER_ROLE}`,
      principalId: objectId,
    });
    const client = entra('files-a');
    const body = trainingFile(10);
    const f = await upload(client, body, 'entra.jsonl');
    assert.equal(f.status, 'processed');
    assert.deepEqual(await client.files.retrieve(f.id), f);
    assert.deepEqual(await contentOf(client, f.id), body);
    const ids = [];
    for await (const x of client.files.list()) ids.push(x.id);
    assert.ok(ids.includes(f.id));

    // The role is on files-a only.
    await assert.rejects(entra('files-b').files.list(),
                         (e) => [401, 403].includes(e.status));
    // A token for another audience (Resource Manager) is refused.
    const armToken = (await spCred.getToken(
        `${server.origin('management')}/.default`)).token;
    const res = await dated('files-a', `files?api-version=${API_VERSION}`,
                            {key: null,
                             headers: {authorization: `Bearer ${armToken}`}});
    assert.equal(res.status, 401);
    assert.deepEqual(await client.files.delete(f.id),
                     {id: f.id, object: 'file', deleted: true});

    // Removing the role assignment removes the access.
    await auth.roleAssignments.delete(accountScope('files-a'), assignment);
    await assert.rejects(entra('files-a').files.list(),
                         (e) => [401, 403].includes(e.status));

    // A role on the resource group reaches every account in it.
    const groupScope = `/subscriptions/${sub}/resourceGroups/${rg}`;
    const onGroup = randomUUID();
    await auth.roleAssignments.create(groupScope, onGroup, {
      roleDefinitionId: `/subscriptions/${sub}/providers/` +
          `Microsoft.Authorization/roleDefinitions/${OPENAI_USER_ROLE}`,
      principalId: objectId,
    });
    for (const account of ['files-a', 'files-b']) {
      for await (const x of entra(account).files.list()) void x;
    }
    await auth.roleAssignments.delete(groupScope, onGroup);
    await assert.rejects(entra('files-b').files.list(),
                         (e) => [401, 403].includes(e.status));
  });

  test('Owner of the subscription is not a data-plane role', async () => {
    const owner = new AzureOpenAI({
      endpoint: endpointOf('files-a'), apiVersion: API_VERSION, maxRetries: 0,
      azureADTokenProvider: getBearerTokenProvider(credential,
                                                   COGNITIVE_SCOPE)});
    await assert.rejects(owner.files.list(),
                         (e) => [401, 403].includes(e.status));
  });
});

describe('blobs', () => {
  test('upload writes a blob, delete removes it; the blob is not the ' +
       'plaintext', async () => {
    const client = azure('files-a');
    const body = randomBytes(256 * 1024);
    const before = blobs();
    const f = await upload(client, body, 'blob.bin', 'assistants');
    const mid = blobs();
    const created = added(before, mid);
    assert.ok(created.length >= 1, 'a blob appeared under dataDir/blobs');
    for (const name of created) {
      // Encrypted: larger than the plaintext by its overhead, never equal.
      assert.ok(mid.get(name) > 0);
    }
    await client.files.delete(f.id);
    const after = blobs();
    for (const name of created) assert.ok(!after.has(name), `${name} remains`);
  });

  test('a tampered blob is never returned as data; the server logs it ' +
       'under the request id the client saw', async () => {
    const client = azure('files-a');
    // 640 KiB: ten 64 KiB segments, so a download streams several chunks.
    const body = randomBytes(640 * 1024);
    const before = blobs();
    const f = await upload(client, body, 'tamper.bin', 'assistants');
    const [name] = added(before, blobs());
    assert.ok(name, 'the upload wrote a blob');
    const file = path.join(server.dataDir, 'blobs', name);
    const flip = (offset) => {
      const fd = openSync(file, 'r+');
      try {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, offset);
        b[0] ^= 0x55;
        writeSync(fd, b, 0, 1, offset);
      } finally {
        closeSync(fd);
      }
    };
    // Raw download: the status, the request id and how the body ended.
    const download = () => new Promise((resolve, reject) => {
      const req = https.get(
          `${endpointOf('files-a')}openai/files/${f.id}/content` +
              `?api-version=${API_VERSION}`,
          {headers: {'api-key': keys['files-a'].key1}}, (res) => {
            let bytes = 0;
            const done = (complete) => resolve({
              status: res.statusCode, id: res.headers['apim-request-id'],
              bytes, complete});
            res.on('data', (c) => { bytes += c.length; });
            res.on('end', () => done(res.complete));
            res.on('aborted', () => done(false));
            res.on('error', () => done(false));
          });
      req.on('error', reject);
    });
    const eventFor = async (id) => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const line = server.output().split('\n').find(
            (l) => l.includes(`"request_id":"${id}"`));
        if (line || Date.now() > deadline) return line && JSON.parse(line);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // A segment in the middle: found while streaming, after the head went
    // out, so the body is cut short and the event log says why.
    flip(512 * 1024);
    let got = await download();
    assert.equal(got.status, 200);
    assert.equal(got.complete, false, 'the body was cut off');
    assert.ok(got.bytes < body.length);
    let event = await eventFor(got.id);
    assert.ok(event, `an event for ${got.id} in:\n${server.output()}`);
    assert.equal(event.event, 'response_aborted');
    assert.equal(event.code, 'DATA_LOSS');
    assert.equal(event.route, '/openai/files/{id}/content');
    assert.equal(event.host, 'files-a.openai.localhost');
    flip(512 * 1024);  // Restored.
    assert.ok((await contentOf(client, f.id)).equals(body));

    // The last segment: found when the download opens, so it is a 500.
    const size = statSync(file).size;
    flip(size - 1);
    got = await download();
    assert.equal(got.status, 500);
    event = await eventFor(got.id);
    assert.ok(event, `an event for ${got.id}`);
    assert.equal(event.event, 'error_response');
    assert.equal(event.status, 500);
    assert.equal(event.code, 'DATA_LOSS');
    await client.files.delete(f.id);
  });

  test("deleting the account removes its files' blobs", async () => {
    await createAccount('files-doomed');
    const client = azure('files-doomed');
    const before = blobs();
    for (let i = 0; i < 3; i++) {
      await upload(client, randomBytes(10000), `d${i}.bin`, 'assistants');
    }
    const created = added(before, blobs());
    assert.ok(created.length >= 3, `blobs: ${created}`);
    await cs.accounts.beginDeleteAndWait(rg, 'files-doomed');
    // Removal may follow the row deletion shortly.
    const deadline = Date.now() + 5000;
    let left = created;
    while (Date.now() < deadline) {
      const now = blobs();
      left = created.filter((n) => now.has(n));
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(left, []);
  });
});
