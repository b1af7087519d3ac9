// Hostile input at the trust boundaries, against a real atrest server:
// JSON bodies nested hundreds of thousands deep on every surface (answered
// 400 in the surface's own error shape while the server keeps serving and an
// upload in flight completes), names outside the services' rules (refused
// before anything stores or audits them), and bytes that are not UTF-8 in
// names and messages (never a 500, never a listing that stops working).
import assert from 'node:assert/strict';
import https from 'node:https';
import {after, before, describe, test} from 'node:test';

import {AuthorizationManagementClient} from '@azure/arm-authorization';

import {Arm, credentialFor} from './support/arm.js';
import {atrest, startServer} from './support/atrest.js';
import {RawConn, parseResponses} from './support/raw-tls.js';

const API_VERSION = '2024-10-21';  // Azure OpenAI dated API.
const KV_API = '7.4';
const GROUP = 'rg-hostile';
const VAULT = 'kvhostile';
const ACCOUNT = 'hostile-ai';
const GUID = '2c1d7e8a-5b3f-4c6d-9e0f-1a2b3c4d5e6f';

let server;
let arm;
let apiKey;
let stranger;  // Credentials of a principal of another tenant, no role here.

const nested = (depth) => '['.repeat(depth) + ']'.repeat(depth);

async function tokenFor(creds, surface) {
  const t = await credentialFor(server, creds)
                .getToken(`${server.origin(surface)}/.default`);
  return t.token;
}

// One request with a connection of its own; resolves with status, headers
// and the body as text and, when it parses, as JSON.
async function call(url, {method = 'GET', headers = {}, body} = {}) {
  const res = await fetch(url, {method, headers, body});
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return {status: res.status, headers: res.headers, text, json};
}

// {"error": {"code", "message"}}, the shape of ARM and Key Vault.
function assertAzureError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.ok(res.json, `a JSON body: ${res.text.slice(0, 200)}`);
  assert.equal(typeof res.json.error?.code, 'string', res.text);
  assert.equal(typeof res.json.error?.message, 'string', res.text);
  if (code) assert.equal(res.json.error.code, code, res.text);
}

// {"error": "...", "error_description": "..."}, OAuth's shape.
function assertOAuthError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(typeof res.json?.error, 'string', res.text);
  assert.equal(typeof res.json?.error_description, 'string', res.text);
  if (code) assert.equal(res.json.error, code, res.text);
}

// A raw request whose head is written byte for byte (so that a path may
// hold bytes that are not UTF-8); resolves with the parsed response.
async function rawRequest(surface, head, body = Buffer.alloc(0)) {
  const conn = await RawConn.open(server.port,
                                  {servername: `${surface}.localhost`});
  try {
    const host = `${surface}.localhost:${server.port}`;
    await conn.write(Buffer.concat([
      Buffer.from(head.replace('{host}', host), 'latin1'), body]));
    const text = await conn.waitFor((t) => parseResponses(t)[0]?.complete,
                                    10000);
    const res = parseResponses(text)[0];
    let json;
    try { json = JSON.parse(res.body); } catch { json = undefined; }
    return {status: res.status, text: res.body, json};
  } finally {
    conn.destroy();
  }
}

function vaultPath() {
  return `/subscriptions/${arm.sub}/resourceGroups/${GROUP}/providers/` +
      `Microsoft.KeyVault/vaults/${VAULT}`;
}

async function auditEvents() {
  const res = await arm.armFetch(`${vaultPath()}/auditEvents`);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.value;
}

async function assertServing() {
  const res = await call(`${server.origin()}/healthz`);
  assert.equal(res.status, 200);
}

before(async () => {
  server = await startServer();
  arm = await new Arm(server, {group: GROUP}).init();
  await arm.createVault(VAULT);
  await arm.keyClient(`${server.origin(`${VAULT}.vault`)}/`)
      .createRsaKey('k1', {keySize: 2048});
  ({keys: {key1: apiKey}} = await arm.createAccount(ACCOUNT));
  const other = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                   'tenant', 'create', '--name', 'Hostile']));
  const sp = JSON.parse(atrest([
    'ad', '--data-dir', server.dataDir, '--tenant', other.tenantId, 'sp',
    'create-for-rbac', '--name', 'hostile-bot', '--role', 'Owner',
    '--scopes', `/subscriptions/${other.subscriptionId}`]));
  stranger = {tenantId: sp.tenant, clientId: sp.appId,
              clientSecret: sp.password};
});
after(async () => { await server?.stop(); });

describe('deeply nested JSON', () => {
  test('is refused with 400 on every surface while an upload completes',
       {timeout: 120000}, async () => {
    // An upload in flight on a connection of its own, for the whole test.
    const content = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const head = '--B\r\ncontent-disposition: form-data; name="purpose"\r\n' +
        '\r\nassistants\r\n--B\r\ncontent-disposition: form-data; ' +
        'name="file"; filename="inflight.txt"\r\n\r\n';
    const tail = '\r\n--B--\r\n';
    let finish;
    const upload = new Promise((resolve, reject) => {
      const req = https.request(
          `${server.origin(`${ACCOUNT}.openai`)}/openai/files` +
              `?api-version=${API_VERSION}`,
          {method: 'POST', agent: false, headers: {
            'api-key': apiKey,
            'content-type': 'multipart/form-data; boundary=B',
            'content-length': head.length + content.length + tail.length}},
          (res) => {
            let text = '';
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve({status: res.statusCode, text}));
          });
      req.on('error', reject);
      req.write(head);
      req.write(content.subarray(0, 1024 * 1024));
      finish = () => {
        req.write(content.subarray(1024 * 1024));
        req.end(tail);
      };
    });

    const armToken = await tokenFor(stranger, 'management');
    const kvToken = await tokenFor(stranger, 'vault');
    const armHeaders = {'content-type': 'application/json',
                        authorization: `Bearer ${armToken}`};

    // ARM: a vault PUT whose properties nest 400,000 deep, from a principal
    // of another tenant with no role here.
    let res = await call(
        `${server.origin('management')}${vaultPath()}?api-version=2023-07-01`,
        {method: 'PUT', headers: armHeaders,
         body: `{"location":"westeurope","properties":${nested(400000)}}`});
    assertAzureError(res, 400, 'InvalidRequestContent');
    await assertServing();

    // ARM: a subscription alias whose displayName nests as deep.
    res = await call(
        `${server.origin('management')}/providers/Microsoft.Subscription/` +
            'aliases/deep?api-version=2021-10-01',
        {method: 'PUT', headers: armHeaders,
         body: `{"properties":{"displayName":${nested(400000)}}}`});
    assertAzureError(res, 400, 'InvalidRequestContent');

    // Key Vault: unwrapkey with an alg nested 120,000 deep.
    res = await call(
        `${server.origin(`${VAULT}.vault`)}/keys/k1//unwrapkey` +
            `?api-version=${KV_API}`,
        {method: 'POST', headers: {'content-type': 'application/json',
                                   authorization: `Bearer ${kvToken}`},
         body: `{"alg":${nested(120000)},"value":"AA"}`});
    assertAzureError(res, 400, 'BadParameter');
    await assertServing();

    // Azure OpenAI: a fine-tuning job body nested 30,000 deep (the route
    // takes 64 KiB).
    res = await call(
        `${server.origin(`${ACCOUNT}.openai`)}/openai/fine_tuning/jobs` +
            `?api-version=${API_VERSION}`,
        {method: 'POST', headers: {'content-type': 'application/json',
                                   'api-key': apiKey},
         body: `{"model":${nested(30000)}}`});
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.type, 'invalid_request_error');
    assert.equal(res.json.error.code, 'invalidPayload');

    // Login: the token endpoint takes a form, not JSON; a nested JSON body
    // is an invalid request in OAuth's shape.
    res = await call(
        `${server.origin('login')}/${server.creds.tenantId}/oauth2/v2.0/token`,
        {method: 'POST', headers: {'content-type': 'application/json'},
         body: nested(30000)});
    assertOAuthError(res, 400, 'invalid_request');

    // A bearer token whose header and claims nest deep: 401, not a crash.
    const part = Buffer.from(nested(4000)).toString('base64url');
    const forged = `${part}.${part}.AAAA`;
    res = await call(
        `${server.origin('management')}/subscriptions?api-version=2022-12-01`,
        {headers: {authorization: `Bearer ${forged}`}});
    assertAzureError(res, 401);
    res = await call(
        `${server.origin(`${VAULT}.vault`)}/keys?api-version=${KV_API}`,
        {headers: {authorization: `Bearer ${forged}`}});
    assertAzureError(res, 401);
    await assertServing();

    // The upload, started before all this, completes and reads back.
    finish();
    const done = await upload;
    assert.equal(done.status, 201, done.text);
    const file = JSON.parse(done.text);
    res = await call(
        `${server.origin(`${ACCOUNT}.openai`)}/openai/files/${file.id}/` +
            `content?api-version=${API_VERSION}`,
        {headers: {'api-key': apiKey}});
    assert.equal(res.status, 200);
    assert.equal(res.text, content.toString());
  });

  test('at the depth real clients use is accepted', async () => {
    // An ARM vault PUT nests 6 deep (properties.accessPolicies[].
    // permissions.keys[]); the SDK's own update goes through.
    const v = await arm.kv.vaults.get(GROUP, VAULT);
    const updated = await arm.kv.vaults.beginCreateOrUpdateAndWait(
        GROUP, VAULT, {location: v.location, properties: v.properties});
    assert.equal(updated.name, VAULT);
  });
});

describe('names outside the rules', () => {
  test('a cross-tenant GET of a bad key name leaves the audit listing working',
       async () => {
    const kvToken = await tokenFor(stranger, 'vault');
    // Bytes that are not UTF-8, sent raw: whichever layer refuses them,
    // the answer is a 400 in Key Vault's shape.
    const raw = await rawRequest(
        `${VAULT}.vault`,
        `GET /keys/\xff\xfe?api-version=${KV_API} HTTP/1.1\r\n` +
            `Host: {host}\r\nAuthorization: Bearer ${kvToken}\r\n` +
            'Connection: close\r\n\r\n');
    assertAzureError(raw, 400);

    // Names the HTTP layer lets through but Key Vault's rules do not.
    const long = 'k'.repeat(200);
    for (const name of [long, 'bad!name']) {
      for (const creds of [stranger, server.creds]) {
        const res = await call(
            `${server.origin(`${VAULT}.vault`)}/keys/${name}` +
                `?api-version=${KV_API}`,
            {headers: {authorization: `Bearer ${
              await tokenFor(creds, 'vault')}`}});
        assertAzureError(res, 400, 'BadParameter');
        assert.match(res.json.error.message, /invalid name/);
      }
    }

    const events = await auditEvents();
    const ids = events.map((e) => e.properties.id ?? '');
    assert.ok(events.length > 0);
    assert.ok(!ids.some((id) => id.includes('bad!name') || id.includes(long)),
              JSON.stringify(ids));
    assert.ok(!ids.some((id) => id.includes('\ufffd')), JSON.stringify(ids));
  });

  test('a role assignment with a bad name or scope commits nothing',
       async () => {
    const sub = `/subscriptions/${arm.sub}`;
    const assignments = `/providers/Microsoft.Authorization/roleAssignments`;
    const body = {properties: {
      roleDefinitionId: `${sub}/providers/Microsoft.Authorization/` +
          'roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7',
      principalId: server.creds.objectId}};
    let res = await arm.armFetch(`${sub}${assignments}/not-a-guid`,
                                 {method: 'PUT', body});
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.error.code, 'InvalidRoleAssignmentId');

    res = await arm.armFetch(
        `${sub}/resourceGroups/bad!group${assignments}/${GUID}`,
        {method: 'PUT', body});
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.error.code, 'InvalidResourceGroup');

    const token = await tokenFor(server.creds, 'management');
    const raw = await rawRequest(
        'management',
        `PUT ${sub}${assignments}/\xff?api-version=2022-04-01 HTTP/1.1\r\n` +
            `Host: {host}\r\nAuthorization: Bearer ${token}\r\n` +
            'Content-Type: application/json\r\n' +
            `Content-Length: ${JSON.stringify(body).length}\r\n` +
            'Connection: close\r\n\r\n',
        Buffer.from(JSON.stringify(body)));
    assertAzureError(raw, 400);

    // Nothing was stored: the scope's list answers, with GUIDs only.
    const auth = new AuthorizationManagementClient(
        arm.credential, arm.sub, {endpoint: server.origin('management')});
    const names = [];
    for await (const a of auth.roleAssignments.listForScope(sub)) {
      names.push(a.name);
    }
    assert.ok(names.length > 0);
    for (const n of names) {
      assert.match(n, /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i, n);
    }
  });

  test('a filename that is not UTF-8 is refused; the files list answers',
       async () => {
    const part = Buffer.concat([
      Buffer.from('--B\r\ncontent-disposition: form-data; name="purpose"\r\n' +
                  '\r\nassistants\r\n--B\r\ncontent-disposition: ' +
                  'form-data; name="file"; filename="'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('.txt"\r\n\r\nhello\r\n--B--\r\n')]);
    const raw = await rawRequest(
        `${ACCOUNT}.openai`,
        `POST /openai/files?api-version=${API_VERSION} HTTP/1.1\r\n` +
            `Host: {host}\r\napi-key: ${apiKey}\r\n` +
            'Content-Type: multipart/form-data; boundary=B\r\n' +
            `Content-Length: ${part.length}\r\nConnection: close\r\n\r\n`,
        part);
    assert.equal(raw.status, 400, raw.text);
    assert.equal(raw.json.error.type, 'invalid_request_error');

    const list = await call(
        `${server.origin(`${ACCOUNT}.openai`)}/openai/files` +
            `?api-version=${API_VERSION}`,
        {headers: {'api-key': apiKey}});
    assert.equal(list.status, 200, list.text);
    assert.ok(!list.json.data.some((f) => f.filename.includes('\ufffd')));
  });
});

describe('bytes that are not UTF-8 in what a surface echoes', () => {
  test('login and Key Vault answer 400 in their own shape, not 500',
       async () => {
    let res = await call(`${server.origin('login')}/%FF/discovery/v2.0/keys`);
    assertOAuthError(res, 400);
    res = await call(
        `${server.origin('login')}/${server.creds.tenantId}/oauth2/v2.0/token`,
        {method: 'POST',
         headers: {'content-type': 'application/x-www-form-urlencoded'},
         body: 'grant_type=%FF&client_id=x&client_secret=y&scope=z'});
    assertOAuthError(res, 400);
    res = await call(`${server.origin(`${VAULT}.vault`)}/keys?api-version=%FF`,
                     {headers: {authorization: `Bearer ${
                       await tokenFor(server.creds, 'vault')}`}});
    assertAzureError(res, 400);
    await assertServing();
  });
});
