// Customer-managed keys held in an *external* Azure Key Vault: the account's
// encryption names a vault URL atrest does not host
// (https://fakekv.vault.test.localhost:<port>/, a fake vault in this process
// speaking the Key Vault keys REST API, support/fake-vault.js, under a
// suffix the server is told to allow as it allows vault.azure.net by
// default). atrest must reach it
// as it would reach Azure: answer its challenge, call it with a token of the
// account's system-assigned identity in the account's tenant, wrap and
// unwrap the account key with RSA-OAEP-256, apply the CMK rules to what the
// vault says (docs/accounts.md: recoverability from recoveryLevel, firewall
// and access from its refusals), notice revocation and new key versions on
// its recheck period (1 s here), with no vault events to help it; and it
// must send the account identity's token nowhere else, for no other
// audience (the last describe).
import assert from 'node:assert/strict';
import {createPublicKey, randomBytes, randomUUID, verify} from 'node:crypto';
import net from 'node:net';
import {performance} from 'node:perf_hooks';
import {after, before, describe, test} from 'node:test';

import {CognitiveServicesManagementClient} from '@azure/arm-cognitiveservices';
import {ResourceManagementClient} from '@azure/arm-resources';
import {ClientSecretCredential} from '@azure/identity';
import {AzureOpenAI, toFile} from 'openai';

import {freePort, startServer} from './support/atrest.js';
import {VAULT_HOST, VAULT_RESOURCE, VAULT_SUFFIX, jwtClaims, prepareRsaKeys,
        startFakeVault} from './support/fake-vault.js';

const API_VERSION = '2024-10-21';
const ARM_API_VERSION = '2025-09-01';
const SERVICE = 'Microsoft.CognitiveServices';
const VAULT = 'Microsoft.KeyVault';
const RECHECK_SECONDS = 1;

let server;
let credential;
let sub;
let tenant;
let cs;
const rg = 'rg-extkv';
const keys = {};  // account name -> {key1, key2}
const vaults = [];  // every fake started, closed at the end
// The ports the server allows vaults under VAULT_SUFFIX at, one per fake
// (chosen before the server starts, which is told them).
const vaultPorts = [];
const POOL = 16;

// ---- helpers ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function endpointOf(account) { return `${server.origin(`${account}.openai`)}/`; }

function azure(account) {
  return new AzureOpenAI({endpoint: endpointOf(account),
                          apiKey: keys[account].key1,
                          apiVersion: API_VERSION, maxRetries: 0});
}

/** The next allowed vault port no fake listens on yet. */
function nextVaultPort() {
  const port = vaultPorts.shift();
  assert.ok(port, `more than ${POOL} vault ports asked for`);
  return port;
}

async function fakeVault(tenantId = tenant, {selfSigned = false, host,
                                             port = nextVaultPort()} = {}) {
  const v = await startFakeVault({loginOrigin: server.origin('login'),
                                  tenantId, selfSigned, host, port});
  vaults.push(v);
  return v;
}

async function createAccount(name, identity = true) {
  const a = await cs.accounts.beginCreateAndWait(rg, name, {
    location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'},
    identity: {type: identity ? 'SystemAssigned' : 'None'}});
  keys[name] = await cs.accounts.listKeys(rg, name);
  return a;
}

async function useKey(account, {vaultUri, keyName, keyVersion}) {
  const keyVaultProperties = {keyVaultUri: vaultUri, keyName};
  if (keyVersion !== undefined) keyVaultProperties.keyVersion = keyVersion;
  return cs.accounts.beginUpdateAndWait(rg, account, {
    properties: {encryption: {keySource: VAULT, keyVaultProperties}}});
}

/** The account's ARM JSON through a raw GET with a management token. */
async function rawAccount(account) {
  const token = (await credential.getToken(
      `${server.origin('management')}/.default`)).token;
  const res = await fetch(
      `${server.origin('management')}/subscriptions/${sub}/resourceGroups/` +
          `${rg}/providers/${SERVICE}/accounts/${account}` +
          `?api-version=${ARM_API_VERSION}`,
      {headers: {authorization: `Bearer ${token}`}});
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

async function upload(account, bytes, filename = 'data.bin') {
  return azure(account).files.create({file: await toFile(bytes, filename),
                                      purpose: 'assistants'});
}

/** Downloads a file's content with a raw request: status, bytes, code. */
async function download(account, id) {
  const res = await fetch(
      `${endpointOf(account)}openai/files/${id}/content?api-version=` +
          API_VERSION,
      {headers: {'api-key': keys[account].key1}});
  const body = Buffer.from(await res.arrayBuffer());
  let code;
  let message;
  if (!res.ok) {
    try {
      ({code, message} = JSON.parse(body.toString()).error ?? {});
    } catch { /**/ }
  }
  return {status: res.status, body, code, message};
}

/** Calls `fn` every `interval` ms until it returns true; resolves to the
 *  milliseconds that took, or null after `limit` ms. */
async function pollMs(fn, limit, interval = 50) {
  const t0 = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - t0;
    if (performance.now() - t0 > limit) return null;
    await sleep(interval);
  }
}

/** Asserts that the PATCH `request()` makes fails as an ARM 400 with
 *  `code`, and that the account's encryption did not change. */
async function refusedRule(request, code, account) {
  const before = (await cs.accounts.get(rg, account)).properties.encryption;
  await assert.rejects(request(), (e) => {
    assert.equal(e.statusCode, 400, `${e.statusCode} ${e.code} ${e.message}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.length > 0);
    return true;
  });
  assert.deepEqual((await cs.accounts.get(rg, account)).properties.encryption,
                   before);
}

/** The tenant's token signing keys (JWKS), by kid. */
async function signingKeys(tenantId) {
  const res = await fetch(
      `${server.origin('login')}/${tenantId}/discovery/v2.0/keys`);
  assert.equal(res.status, 200);
  const {keys: list} = await res.json();
  return new Map(list.map((k) => [k.kid, k]));
}

/** Asserts that `token` is an RS256 JWT signed by one of `jwks`. */
function assertSignedBy(token, jwks) {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  assert.equal(header.alg, 'RS256');
  const jwk = jwks.get(header.kid);
  assert.ok(jwk, `no signing key ${header.kid}`);
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`),
                   createPublicKey({key: jwk, format: 'jwk'}),
                   Buffer.from(s, 'base64url')),
            'bad token signature');
}

/** Asserts that every authenticated request `fake` saw came from the
 *  managed identity `principalId` of the account's tenant, for the vault's
 *  resource, on api-version 7.4. Returns those requests. */
function assertCallsByIdentity(fake, principalId) {
  const calls = fake.authenticated();
  assert.ok(calls.length > 0, 'the vault saw no authenticated request');
  for (const r of calls) {
    const where = `${r.method} ${r.path}`;
    assert.equal(r.claims.oid, principalId, where);
    assert.equal(r.claims.tid, tenant, where);
    assert.equal(r.claims.aud, VAULT_RESOURCE, where);
    assert.equal(r.claims.idtyp, 'app', where);
    assert.equal(r.apiVersion, '7.4', where);
    if (r.op === 'wrapkey' || r.op === 'unwrapkey') {
      assert.equal(r.alg, 'RSA-OAEP-256', where);
    }
  }
  return calls;
}

before(async () => {
  for (let i = 0; i < POOL; ++i) {
    let port;
    do port = await freePort(); while (vaultPorts.includes(port));
    vaultPorts.push(port);
  }
  // The vaults' RSA keys are made while the server starts.
  [server] = await Promise.all([
    startServer({extraArgs: [
      '--accounts-kek-recheck-seconds', String(RECHECK_SECONDS),
      '--accounts-vault-suffixes',
      vaultPorts.map((p) => `${VAULT_SUFFIX}:${p}`).join(',')]}),
    prepareRsaKeys(2048, 15), prepareRsaKeys(3072, 2)]);
  tenant = server.creds.tenantId;
  credential = new ClientSecretCredential(
      tenant, server.creds.clientId, server.creds.clientSecret,
      {authorityHost: server.origin('login'), disableInstanceDiscovery: true});
  sub = server.creds.subscriptionId;
  const endpoint = server.origin('management');
  cs = new CognitiveServicesManagementClient(credential, sub, {endpoint});
  await new ResourceManagementClient(credential, sub, {endpoint})
      .resourceGroups.createOrUpdate(rg, {location: 'westeurope'});
});

after(async () => {
  for (const v of vaults) await v.close();
  await server?.stop();
});

// ---- an account encrypted under a key in an external vault ----

describe('an external key vault', () => {
  const account = 'ext-main';
  const data = randomBytes(400 * 1024);
  let fake;
  let principal;
  let v1;
  let file;

  test('the account uses a key by URI; its files round-trip', async () => {
    fake = await fakeVault();
    v1 = fake.createKey('cmk');
    const a = await createAccount(account);
    assert.equal(a.identity.type, 'SystemAssigned');
    assert.equal(a.identity.tenantId, tenant);
    principal = a.identity.principalId;
    assert.ok(principal);

    const b = await useKey(account, {vaultUri: fake.uri, keyName: 'cmk',
                                     keyVersion: v1.version});
    const e = b.properties.encryption;
    assert.equal(e.keySource, VAULT);
    assert.equal(e.keyVaultProperties.keyVaultUri, fake.uri);
    assert.equal(e.keyVaultProperties.keyName, 'cmk');
    assert.equal(e.keyVaultProperties.keyVersion, v1.version);
    const s = (await rawAccount(account)).properties.encryptionStatus;
    assert.equal(s.state, 'active', JSON.stringify(s));
    assert.equal(s.keySource, VAULT, JSON.stringify(s));
    assert.equal(s.keyVersion, v1.version, JSON.stringify(s));

    file = await upload(account, data, 'ext.bin');
    assert.equal(file.status, 'processed');
    const r = await download(account, file.id);
    assert.equal(r.status, 200, r.body.toString().slice(0, 300));
    assert.ok(r.body.equals(data), 'content differs');
    // Through the SDK too.
    const c = await azure(account).files.content(file.id);
    assert.ok(Buffer.from(await c.arrayBuffer()).equals(data));
  });

  test('the vault was called as Key Vault is: challenge, get, wrapKey, ' +
       "unwrapKey, with the identity's token", async () => {
    const ch = fake.requests.find((r) => r.op.startsWith('challenge'));
    assert.ok(ch, JSON.stringify(fake.requests.map((r) => r.path)));
    assert.equal(ch.method, 'GET');
    assert.equal(ch.path, '/keys?api-version=7.4&maxresults=1');
    assert.equal(ch.status, 401);
    const calls = assertCallsByIdentity(fake, principal);
    const ops = calls.map((r) => `${r.op} ${r.version || '-'} ${r.status}`);
    assert.ok(calls.some((r) => r.op === 'get' && r.name === 'cmk' &&
                              r.version === v1.version && r.status === 200),
              ops.join('\n'));
    const wraps = fake.authenticated('wrapkey');
    assert.ok(wraps.length >= 1, ops.join('\n'));
    assert.ok(wraps.every((r) => r.version === v1.version && r.status === 200 &&
                                 r.wrappedBytes === 32), ops.join('\n'));
    const unwraps = fake.authenticated('unwrapkey');
    assert.ok(unwraps.length >= 1, ops.join('\n'));
    assert.ok(unwraps.every((r) => r.version === v1.version &&
                                   r.status === 200 && r.unwrappedBytes === 32),
              ops.join('\n'));
    // Nothing went unanswered or wrong.
    assert.deepEqual(fake.requests.filter((r) => r.status >= 400 &&
                                                 r.status !== 401), []);
    // The tokens are the real thing: signed by the account tenant's keys.
    const jwks = await signingKeys(tenant);
    for (const r of calls) {
      assertSignedBy(r.authorization.slice('Bearer '.length), jwks);
    }
  });

  let revokedMs;
  let restoredMs;
  test('revoked at the vault: content refused within the recheck period, ' +
       'metadata still answers; restored: works again', async (t) => {
    assert.equal((await download(account, file.id)).status, 200);
    fake.revoked = true;
    let last;
    revokedMs = await pollMs(async () => {
      last = await download(account, file.id);
      if (last.status === 200) return false;
      assert.equal(last.status, 403, last.body.toString());
      assert.equal(last.code, 'CustomerManagedKeyInaccessible',
                   last.body.toString());
      return true;
    }, 10000, 25);
    assert.notEqual(revokedMs, null, 'still readable 10 s after revocation');
    t.diagnostic(`refused ${Math.round(revokedMs)} ms after revocation`);
    assert.ok(revokedMs < 3000,
              `refused only after ${Math.round(revokedMs)} ms`);
    assert.match(last.message, /KeyVaultAccessDenied/, last.message);
    // The vault refused the identity itself (it was asked, not skipped).
    assert.ok(fake.authenticated().some(
        (r) => r.status === 403 && r.code === 'Forbidden/ForbiddenByPolicy' &&
               r.claims.oid === principal));

    // Metadata and listing still answer; uploads are refused.
    const client = azure(account);
    const meta = await client.files.retrieve(file.id);
    assert.equal(meta.id, file.id);
    assert.equal(meta.bytes, data.length);
    const ids = [];
    for await (const f of client.files.list()) ids.push(f.id);
    assert.ok(ids.includes(file.id));
    await assert.rejects(upload(account, Buffer.from('more\n'), 'more.txt'),
                         (e) => {
                           assert.equal(e.status, 403);
                           assert.equal(e.code,
                                        'CustomerManagedKeyInaccessible');
                           return true;
                         });
    const s = (await rawAccount(account)).properties.encryptionStatus;
    assert.equal(s.state, 'inaccessible', JSON.stringify(s));
    assert.equal(s.reasonCode, 'KeyVaultAccessDenied', JSON.stringify(s));

    fake.revoked = false;
    restoredMs = await pollMs(async () => {
      const r = await download(account, file.id);
      if (r.status !== 200) return false;
      assert.ok(r.body.equals(data), 'content differs');
      return true;
    }, 10000, 25);
    assert.notEqual(restoredMs, null, 'still refused 10 s after restoring');
    t.diagnostic(`readable again ${Math.round(restoredMs)} ms after restoring`);
    assert.ok(restoredMs < 3000,
              `readable again only after ${Math.round(restoredMs)} ms`);
    const s2 = (await rawAccount(account)).properties.encryptionStatus;
    assert.equal(s2.state, 'active', JSON.stringify(s2));
    assertCallsByIdentity(fake, principal);
  });

  test('the vault goes down: content refused (KeyVaultUnreachable); back ' +
       'up: works again', async (t) => {
    assert.equal((await download(account, file.id)).status, 200);
    await fake.close();
    let last;
    const down = await pollMs(async () => {
      last = await download(account, file.id);
      if (last.status === 200) return false;
      assert.equal(last.status, 403, last.body.toString());
      assert.equal(last.code, 'CustomerManagedKeyInaccessible',
                   last.body.toString());
      return true;
    }, 10000, 25);
    assert.notEqual(down, null, 'still readable 10 s after the vault stopped');
    t.diagnostic(`refused ${Math.round(down)} ms after the vault stopped`);
    assert.ok(down < 3000, `refused only after ${Math.round(down)} ms`);
    const s = (await rawAccount(account)).properties.encryptionStatus;
    assert.equal(s.state, 'inaccessible', JSON.stringify(s));
    assert.equal(s.reasonCode, 'KeyVaultUnreachable', JSON.stringify(s));
    assert.equal((await azure(account).files.retrieve(file.id)).id, file.id);
    await fake.reopen();
    const up = await pollMs(async () =>
      (await download(account, file.id)).status === 200, 10000, 25);
    assert.notEqual(up, null, 'still refused 10 s after the vault came back');
    t.diagnostic(`readable again ${Math.round(up)} ms after the vault came back`);
    assert.ok(up < 3000, `readable again only after ${Math.round(up)} ms`);
    assert.ok((await download(account, file.id)).body.equals(data));
  });

  test('a versionless reference follows a new version in the vault',
       async (t) => {
    const a = await useKey(account, {vaultUri: fake.uri, keyName: 'cmk'});
    assert.ok(!a.properties.encryption.keyVaultProperties.keyVersion,
              JSON.stringify(a.properties.encryption));
    let raw = await rawAccount(account);
    assert.equal(raw.properties.encryptionStatus.keyVersion, v1.version,
                 JSON.stringify(raw.properties.encryptionStatus));
    assert.equal(raw.properties.encryptionStatus.state, 'active');
    fake.clear();

    const v2 = fake.createKey('cmk');
    let status;
    const ms = await pollMs(async () => {
      status = (await rawAccount(account)).properties.encryptionStatus;
      return status.keyVersion === v2.version;
    }, 10000, 50);
    assert.notEqual(ms, null,
                    `still on ${status?.keyVersion} 10 s after the new ` +
                    `version ${v2.version}`);
    t.diagnostic(`new version in use after ${Math.round(ms)} ms`);
    assert.ok(ms < 3000, `new version in use only after ${Math.round(ms)} ms`);
    assert.equal(status.state, 'active', JSON.stringify(status));
    raw = await rawAccount(account);
    assert.ok(!raw.properties.encryption.keyVaultProperties.keyVersion,
              JSON.stringify(raw.properties.encryption));

    // The account key was wrapped under the new version and is opened by it.
    assert.ok(fake.authenticated('wrapkey').some(
        (r) => r.version === v2.version && r.status === 200));
    await sleep(RECHECK_SECONDS * 1000 + 200);  // Let the cached key expire.
    const r = await download(account, file.id);
    assert.equal(r.status, 200, r.body.toString());
    assert.ok(r.body.equals(data), 'content differs');
    const unwraps = fake.authenticated('unwrapkey');
    assert.ok(unwraps.at(-1).version === v2.version,
              unwraps.map((u) => u.version).join(' '));
    assertCallsByIdentity(fake, principal);
    // A file uploaded now round-trips as well.
    const more = randomBytes(50000);
    const f2 = await upload(account, more, 'more.bin');
    assert.ok((await download(account, f2.id)).body.equals(more));
  });
});

// ---- the CMK rules applied to an external vault ----

describe('the CMK rules through an external vault', () => {
  const account = 'ext-rules';
  let fake;
  const ref = (keyName, version) => ({vaultUri: fake.uri, keyName,
                                      keyVersion: version?.version});

  before(async () => {
    fake = await fakeVault();
    await createAccount(account);
  });

  test('KeyTypeNotSupported: an EC key', async () => {
    const v = fake.createKey('ec', {kty: 'EC'});
    await refusedRule(() => useKey(account, ref('ec', v)),
                      'KeyTypeNotSupported', account);
  });

  test('KeySizeNotSupported: an RSA 3072 key', async () => {
    const v = fake.createKey('big', {bits: 3072});
    await refusedRule(() => useKey(account, ref('big', v)),
                      'KeySizeNotSupported', account);
  });

  test('KeyVaultNotRecoverable: recoveryLevel Recoverable+Purgeable',
       async () => {
    const v = fake.createKey('purgeable',
                             {recoveryLevel: 'Recoverable+Purgeable'});
    await refusedRule(() => useKey(account, ref('purgeable', v)),
                      'KeyVaultNotRecoverable', account);
    const w = fake.createKey('purgeable2', {recoveryLevel: 'Purgeable'});
    await refusedRule(() => useKey(account, ref('purgeable2', w)),
                      'KeyVaultNotRecoverable', account);
  });

  test('KeyOperationsNotAllowed: key_ops without wrapKey/unwrapKey',
       async () => {
    const v = fake.createKey('noops',
                             {keyOps: ['encrypt', 'decrypt', 'wrapKey']});
    await refusedRule(() => useKey(account, ref('noops', v)),
                      'KeyOperationsNotAllowed', account);
  });

  test('KeyDisabled, KeyExpired, KeyNotYetValid, KeyVaultKeyNotFound',
       async () => {
    const now = Math.floor(Date.now() / 1000);
    const d = fake.createKey('disabled', {enabled: false});
    await refusedRule(() => useKey(account, ref('disabled', d)),
                      'KeyDisabled', account);
    const x = fake.createKey('expired', {exp: now - 60});
    await refusedRule(() => useKey(account, ref('expired', x)),
                      'KeyExpired', account);
    const n = fake.createKey('future', {nbf: now + 3600});
    await refusedRule(() => useKey(account, ref('future', n)),
                      'KeyNotYetValid', account);
    await refusedRule(() => useKey(account, {vaultUri: fake.uri,
                                             keyName: 'missing'}),
                      'KeyVaultKeyNotFound', account);
  });

  test('KeyVaultAccessDenied: the vault answers 403 ForbiddenByPolicy',
       async () => {
    const v = fake.createKey('good', {recoveryLevel: 'CustomizedRecoverable'});
    fake.revoked = true;
    try {
      await refusedRule(() => useKey(account, ref('good', v)),
                        'KeyVaultAccessDenied', account);
    } finally {
      fake.revoked = false;
    }
  });

  test('KeyVaultFirewallBlocked: the vault answers 403 ForbiddenByFirewall',
       async () => {
    fake.forbidden = 'ForbiddenByFirewall';
    try {
      await refusedRule(() => useKey(account, ref('good', fake.version('good'))),
                        'KeyVaultFirewallBlocked', account);
    } finally {
      fake.forbidden = null;
    }
  });

  test('KeyVaultTenantMismatch: the challenge names another tenant; no ' +
       'token is sent there', async () => {
    const other = await fakeVault(randomUUID());
    const v = other.createKey('cmk');
    await refusedRule(() => useKey(account, {vaultUri: other.uri,
                                             keyName: 'cmk',
                                             keyVersion: v.version}),
                      'KeyVaultTenantMismatch', account);
    assert.ok(other.requests.length > 0, 'the vault was not asked');
    assert.deepEqual(other.requests.filter((r) => r.authorization), [],
                     "the identity's token went to another tenant's vault");
  });

  test('KeyVaultUnreachable: nothing listens at the vault URI', async () => {
    const port = nextVaultPort();
    await refusedRule(() => useKey(account, {
      vaultUri: `https://nothing.${VAULT_SUFFIX}:${port}/`, keyName: 'cmk'}),
                      'KeyVaultUnreachable', account);
  });

  test("KeyVaultUnreachable: the vault's certificate is checked (an " +
       'untrusted issuer, another name); no request, no token reaches it',
       async () => {
    const self = await fakeVault(tenant, {selfSigned: true});
    const v = self.createKey('cmk');
    await refusedRule(() => useKey(account, {vaultUri: self.uri, keyName: 'cmk',
                                             keyVersion: v.version}),
                      'KeyVaultUnreachable', account);
    assert.deepEqual(self.requests, []);
    assert.ok(self.tlsErrors.length > 0, 'no TLS handshake was refused');
    // The right CA, but the certificate names fakekv.<suffix> only.
    const before = fake.requests.length;
    const tlsBefore = fake.tlsErrors.length;
    await refusedRule(() => useKey(account, {
      vaultUri: `https://otherkv.${VAULT_SUFFIX}:${fake.port}/`,
      keyName: 'good'}),
                      'KeyVaultUnreachable', account);
    assert.equal(fake.requests.length, before);
    assert.ok(fake.tlsErrors.length > tlsBefore, 'no TLS handshake was refused');
  });

  test('SystemAssignedIdentityRequired: an account without identity',
       async () => {
    await createAccount('ext-noid', false);
    await refusedRule(() => useKey('ext-noid', ref('good', fake.version('good'))),
                      'SystemAssignedIdentityRequired', 'ext-noid');
  });

  test('with every switch back, the same account accepts a good key',
       async () => {
    const a = await useKey(account, ref('good', fake.version('good')));
    assert.equal(a.properties.encryption.keySource, VAULT);
    const s = (await rawAccount(account)).properties.encryptionStatus;
    assert.equal(s.state, 'active', JSON.stringify(s));
    assert.equal(s.keyVersion, fake.version('good').version);
    const data = randomBytes(20000);
    const f = await upload(account, data);
    assert.ok((await download(account, f.id)).body.equals(data));
    const principal = (await cs.accounts.get(rg, account)).identity.principalId;
    assertCallsByIdentity(fake, principal);
    // Only ever with tokens of this vault's audience and tenant.
    for (const r of fake.requests.filter((q) => q.authorization)) {
      assert.deepEqual(jwtClaims(r.authorization.slice(7)), r.claims);
    }
  });
});

// ---- regressions: what a versionless reference and a moved vault must not
// do (each was once a server bug; the comments say what happened then) ----

describe('versionless references and moved vaults', () => {
  /** An account on `fake`'s key "cmk" by a versionless reference, with a
   *  file; returns {file, data, v1}. */
  async function versionless(account, fake) {
    const v1 = fake.createKey('cmk');
    await createAccount(account);
    await useKey(account, {vaultUri: fake.uri, keyName: 'cmk'});
    const data = randomBytes(10000);
    const file = await upload(account, data);
    assert.ok((await download(account, file.id)).body.equals(data));
    return {file, data, v1};
  }

  const log = (fake) => fake.requests.filter((r) => r.claims).map(
      (r) => `${r.method} ${r.path} -> ${r.status} ${r.code ?? ''}`)
      .join('\n');

  // Was: AccountKeys::Unwrap (follow_versions) wraps the account key
  // under the newest enabled version without the round trip Rewrap makes
  // and without the rules: a version whose key_ops allow wrapKey but not
  // unwrapKey is adopted (POST .../<v2>/wrapkey -> 200, the row swapped),
  // then every POST .../<v2>/unwrapkey -> 403 Forbidden/KeyOperationForbidden
  // and the account is locked out (state inaccessible, KeyOperationsNotAllowed;
  // downloads 403 CustomerManagedKeyInaccessible). The copy wrapped under v1
  // is gone, and a PATCH back to v1 is refused (409) because the current KEK
  // cannot open the account key.
  test('a versionless reference does not adopt a version that cannot ' +
       'unwrap', async () => {
    const fake = await fakeVault();
    const account = 'ext-bug-ops';
    const {file, data, v1} = await versionless(account, fake);
    fake.clear();
    fake.createKey('cmk', {keyOps: ['wrapKey', 'encrypt']});
    await sleep(2500);
    const s = (await rawAccount(account)).properties.encryptionStatus;
    const r = await download(account, file.id);
    assert.equal(r.status, 200, `${r.status} ${r.body}\n${JSON.stringify(s)}` +
                 `\n${log(fake)}`);
    assert.ok(r.body.equals(data));
    assert.equal(s.keyVersion, v1.version, JSON.stringify(s));
  });

  // Was: the same path adopts a 3072-bit version (which the
  // KeySizeNotSupported rule refuses when set by PATCH): encryptionStatus
  // shows the 3072-bit version, state active.
  test('a versionless reference does not adopt a version the rules refuse ' +
       '(3072 bits)', async () => {
    const fake = await fakeVault();
    const account = 'ext-bug-size';
    const {v1} = await versionless(account, fake);
    const v2 = fake.createKey('cmk', {bits: 3072});
    await sleep(2500);
    const s = (await rawAccount(account)).properties.encryptionStatus;
    assert.notEqual(s.keyVersion, v2.version,
                    `moved to the 3072-bit version: ${JSON.stringify(s)}`);
    assert.equal(s.keyVersion, v1.version, JSON.stringify(s));
  });

  // Was: KeyVaultClient caches a vault's challenge for the server's
  // lifetime and never re-reads it on a 401. After the vault's tenant
  // changes, atrest keeps asking for tokens of the old tenant and sending
  // them there (GET /keys/... -> 401 "Invalid issuer"), and a PATCH to that
  // vault fails with KeyVaultAccessDenied instead of KeyVaultTenantMismatch.
  test('a vault that moved to another tenant is seen as such',
       async () => {
    const fake = await fakeVault();
    const account = 'ext-bug-tenant';
    await createAccount(account);
    await refusedRule(() => useKey(account, {vaultUri: fake.uri,
                                             keyName: 'missing'}),
                      'KeyVaultKeyNotFound', account);
    const v = fake.createKey('cmk');
    fake.tenantId = randomUUID();
    fake.clear();
    await refusedRule(() => useKey(account, {vaultUri: fake.uri,
                                             keyName: 'cmk',
                                             keyVersion: v.version}),
                      'KeyVaultTenantMismatch', account);
    assert.deepEqual(fake.authenticated(), []);
  });
});

// ---- the account identity's token reaches only real vaults, and only for
// Key Vault's audience ----

describe("the account identity's token goes only to allowed vaults, for " +
         "Key Vault's audience", () => {
  const account = 'ext-hostile';
  let fake;  // A vault under an allowed suffix.
  let principal;

  before(async () => {
    fake = await fakeVault();
    fake.createKey('cmk');
    principal = (await createAccount(account)).identity.principalId;
  });

  /** The account PATCH of `encryption` as ARM answers it (status, error). */
  async function rawPatch(encryption) {
    const token = (await credential.getToken(
        `${server.origin('management')}/.default`)).token;
    const res = await fetch(
        `${server.origin('management')}/subscriptions/${sub}/resourceGroups/` +
            `${rg}/providers/${SERVICE}/accounts/${account}` +
            `?api-version=${ARM_API_VERSION}`,
        {method: 'PATCH',
         headers: {'authorization': `Bearer ${token}`,
                   'content-type': 'application/json'},
         body: JSON.stringify({properties: {encryption}})});
    const text = await res.text();
    return {status: res.status, error: JSON.parse(text).error, text};
  }

  const cmkAt = (keyVaultUri) => ({keySource: VAULT,
                                   keyVaultProperties: {keyVaultUri,
                                                        keyName: 'cmk'}});

  function noTokenReached(v) {
    assert.deepEqual(v.requests.filter((r) => r.authorization)
                         .map((r) => `${r.method} ${r.path} aud=${r.claims?.aud}`),
                     [], "the identity's token reached the vault");
  }

  // Was: a caller with write on the account set keyVaultUri to a host of
  // its own; atrest answered that host's challenge with a bearer token of
  // the account's identity, for whatever audience the challenge named (the
  // vault's, management's), and unwrapped keys through it.
  test('a vault outside the allowed suffixes and ports is refused ' +
       '(KeyVaultUriInvalid) and never contacted', async () => {
    // A hostile "vault" with a certificate atrest trusts for its own name,
    // whose challenge names the built-in vault's audience.
    const evil = await fakeVault(tenant, {host: 'evil.localhost', port: 0});
    evil.resource = server.origin('vault');
    evil.createKey('cmk');
    const p = evil.port;
    for (const vaultUri of [
      evil.uri,
      `https://evil.localhost:${p}`,
      `https://kv.vault.azure.net.evil.localhost:${p}/`,
      `https://${VAULT_HOST}:${p}/`,         // An allowed name, another port.
      `https://kv.vault.localhost:${p}/`,    // The built-in suffix, ditto.
      `https://127.0.0.1:${p}/`,             // IP literals.
      `https://[::1]:${p}/`,
      `https://127.0.0.1/`,
      `https://[::1]/`,
      `https://a@${VAULT_HOST}:${fake.port}/`,  // User info.
      'https://a@b.vault.azure.net',
      `https://${VAULT_SUFFIX}:${fake.port}/`,  // The suffix, no vault name.
      `https://a.b.${VAULT_SUFFIX}:${fake.port}/`,
      `${server.origin('management')}/`,     // The server's other surfaces.
      `${server.origin('login')}/`,
      'https://kv.vault.azure.net:8443/',
    ]) {
      await refusedRule(() => useKey(account, {vaultUri, keyName: 'cmk'}),
                        'KeyVaultUriInvalid', account);
    }
    assert.equal(evil.connections, 0, 'the hostile vault was contacted');
    assert.deepEqual(evil.requests, []);
    noTokenReached(fake);
    const {status, error} = await rawPatch(cmkAt(evil.uri));
    assert.equal(status, 400);
    assert.equal(error.code, 'KeyVaultUriInvalid');
    assert.match(error.message, /not under an allowed key vault suffix/);
  });

  test('an allowed vault whose challenge asks for another audience gets no ' +
       'token (KeyVaultChallengeResourceMismatch)', async () => {
    const parent = `https://${VAULT_SUFFIX.split('.').slice(1).join('.')}`;
    for (const resource of [
      server.origin('management'), server.origin('login'), server.origin(''),
      server.origin('vault'),  // The built-in vault's, not this suffix's.
      'https://management.azure.com', 'https://vault.azure.net',
      parent,                  // A parent domain, which the SDKs allow.
      `https://${VAULT_HOST}`, `${VAULT_RESOURCE}:1`,
    ]) {
      fake.resource = resource;
      fake.clear();
      await refusedRule(() => useKey(account, {vaultUri: fake.uri,
                                               keyName: 'cmk'}),
                        'KeyVaultChallengeResourceMismatch', account);
      assert.ok(fake.requests.length > 0, `${resource}: the vault was not asked`);
      noTokenReached(fake);
    }
    // The scope form of the challenge is held to the same rule.
    fake.resource = VAULT_RESOURCE;
    fake.challengeHeader =
        `Bearer authorization="${server.origin('login')}/${tenant}", ` +
        `scope="${server.origin('management')}/.default"`;
    fake.clear();
    await refusedRule(() => useKey(account, {vaultUri: fake.uri,
                                             keyName: 'cmk'}),
                      'KeyVaultChallengeResourceMismatch', account);
    noTokenReached(fake);

    // Asked for its own audience, the same vault is used, with tokens of
    // that audience only.
    fake.challengeHeader = null;
    fake.clear();
    const a = await useKey(account, {vaultUri: fake.uri, keyName: 'cmk'});
    assert.equal(a.properties.encryption.keySource, VAULT);
    assertCallsByIdentity(fake, principal);
    await cs.accounts.beginUpdateAndWait(rg, account, {
      properties: {encryption: {keySource: SERVICE}}});
  });

  test('a closed port, a port that speaks no TLS and an untrusted ' +
       'certificate give one and the same error', async () => {
    const closed = nextVaultPort();
    const plainPort = nextVaultPort();
    const sockets = new Set();
    const plain = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
    });
    await new Promise((resolve, reject) => {
      plain.once('error', reject);
      plain.listen(plainPort, '127.0.0.1', resolve);
    });
    const untrusted = await fakeVault(tenant, {selfSigned: true});
    try {
      const answers = [];
      for (const port of [closed, plainPort, untrusted.port]) {
        const r = await rawPatch(cmkAt(`https://kv.${VAULT_SUFFIX}:${port}/`));
        assert.equal(r.status, 400, r.text);
        assert.equal(r.error.code, 'KeyVaultUnreachable', r.text);
        assert.ok(!r.error.message.includes(String(port)), r.error.message);
        answers.push({code: r.error.code, message: r.error.message});
      }
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(answers[2], answers[0]);
      assert.deepEqual(untrusted.requests, []);
    } finally {
      plain.close();
      for (const socket of sockets) socket.destroy();
    }
  });
});
