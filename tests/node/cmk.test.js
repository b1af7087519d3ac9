// Customer-managed keys (CMK) for AI accounts, walked end to end as the
// source document ("Azure OpenAI Service encryption of data at rest") tells
// an Azure user to, through the unmodified SDKs: a vault with soft delete
// and purge protection (@azure/arm-keyvault), an RSA 2048 key
// (@azure/keyvault-keys), the account's system-assigned identity and its
// access policy (get, wrapKey, unwrapKey), encryption by key URI, a new key
// version, revocation by access policy, by the identity, by disabling or
// deleting the key, versionless keys, another key, back to Microsoft-managed
// keys; the files (npm `openai`) follow, and revocation takes effect within
// 1 s. Then one refusal per CMK rule (ARM errors, HTTP 400, with atrest's
// codes), a restart on the same data dir, and a scan of the data dir for
// plaintext.
import assert from 'node:assert/strict';
import {createHash, randomBytes, randomUUID} from 'node:crypto';
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {after, before, describe, test} from 'node:test';

import {AuthorizationManagementClient} from '@azure/arm-authorization';
import {CognitiveServicesManagementClient} from '@azure/arm-cognitiveservices';
import {KeyVaultManagementClient} from '@azure/arm-keyvault';
import {ResourceManagementClient} from '@azure/arm-resources';
import {ClientSecretCredential} from '@azure/identity';
import {KeyClient} from '@azure/keyvault-keys';
import {AzureOpenAI, toFile} from 'openai';

import {atrest, startServer} from './support/atrest.js';

const API_VERSION = '2024-10-21';
const SERVICE = 'Microsoft.CognitiveServices';
const VAULT = 'Microsoft.KeyVault';
const CMK_OPS = ['get', 'wrapKey', 'unwrapKey'];

let server;
let credential;
let sub;
let cs;
let kv;
let rm;
const rg = 'rg-cmk';
const eastRg = 'rg-cmk-east';
const keys = {};  // account name -> {key1, key2}

// ---- helpers ----

function credentialFor(creds, srv = server) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId,
                                    creds.clientSecret, {
                                      authorityHost: srv.origin('login'),
                                      disableInstanceDiscovery: true,
                                    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function endpointOf(account) {
  return `${server.origin(`${account}.openai`)}/`;
}

function azure(account) {
  return new AzureOpenAI({endpoint: endpointOf(account),
                          apiKey: keys[account].key1,
                          apiVersion: API_VERSION, maxRetries: 0});
}

async function createAccount(name, {identity = true, location = 'westeurope',
                                    group = rg} = {}) {
  const a = await cs.accounts.beginCreateAndWait(group, name, {
    location, kind: 'OpenAI', sku: {name: 'S0'},
    identity: {type: identity ? 'SystemAssigned' : 'None'}});
  keys[name] = await cs.accounts.listKeys(group, name);
  return a;
}

function vaultClient(vaultUri, cred = credential) {
  return new KeyClient(vaultUri, cred);
}

/** A vault fit for CMK (soft delete, purge protection) unless `extra` says
 *  otherwise; the administrator may do anything with its keys. */
async function createVault(name, extra = {},
                           {group = rg, location = 'westeurope',
                            client = kv, tenantId = server.creds.tenantId,
                            objectId = server.creds.objectId} = {}) {
  return client.vaults.beginCreateOrUpdateAndWait(group, name, {
    location, properties: {
      tenantId, sku: {family: 'A', name: 'standard'},
      enableSoftDelete: true, enablePurgeProtection: true,
      softDeleteRetentionInDays: 7,
      accessPolicies: [{tenantId, objectId, permissions: {keys: ['all']}}],
      ...extra,
    }});
}

function policy(objectId, permissions = CMK_OPS) {
  return {properties: {accessPolicies: [{
    tenantId: server.creds.tenantId, objectId, permissions: {keys: permissions},
  }]}};
}

async function grant(vault, objectId, permissions = CMK_OPS, group = rg) {
  await kv.vaults.updateAccessPolicy(group, vault, 'add',
                                     policy(objectId, permissions));
}

async function revoke(vault, objectId, group = rg) {
  await kv.vaults.updateAccessPolicy(group, vault, 'remove',
                                     policy(objectId));
}

/** PATCHes the account's encryption to the key (by URI parts). */
async function useKey(account, {vaultUri, keyName, keyVersion}, extra = {}) {
  const keyVaultProperties = {keyVaultUri: vaultUri, keyName};
  if (keyVersion !== undefined) keyVaultProperties.keyVersion = keyVersion;
  return cs.accounts.beginUpdateAndWait(rg, account, {
    properties: {encryption: {keySource: VAULT, keyVaultProperties}},
    ...extra});
}

async function useServiceKeys(account) {
  return cs.accounts.beginUpdateAndWait(rg, account, {
    properties: {encryption: {keySource: SERVICE}}});
}

/** The parts of a key's id a portal user copies. */
function keyRef(key) {
  return {vaultUri: `${key.properties.vaultUrl}/`, keyName: key.name,
          keyVersion: key.properties.version};
}

function trimSlash(s) { return s?.replace(/\/$/, ''); }

/** An ARM time (ISO 8601, or Unix seconds) in milliseconds. */
function timeMs(v) {
  const ms = typeof v === 'number' ? v * 1000 : Date.parse(v);
  assert.ok(Number.isFinite(ms), `not a time: ${v}`);
  return ms;
}

async function upload(account, bytes, filename = 'data.bin',
                      purpose = 'assistants') {
  return azure(account).files.create({file: await toFile(bytes, filename),
                                      purpose});
}

/** Downloads a file's content with a raw request: status, bytes, code. */
async function download(account, id) {
  const res = await fetch(
      `${endpointOf(account)}openai/files/${id}/content?api-version=` +
          API_VERSION,
      {headers: {'api-key': keys[account].key1}});
  const body = Buffer.from(await res.arrayBuffer());
  let code;
  if (!res.ok) {
    try { code = JSON.parse(body.toString()).error?.code; } catch { /**/ }
  }
  return {status: res.status, body, code};
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

const refusedNow = (account, id) => async () => {
  const r = await download(account, id);
  if (r.status === 200) return false;
  assert.equal(r.status, 403, `${r.status} ${r.body}`);
  assert.equal(r.code, 'CustomerManagedKeyInaccessible', r.body.toString());
  return true;
};

const worksNow = (account, id, expected) => async () => {
  const r = await download(account, id);
  if (r.status !== 200) return false;
  assert.ok(r.body.equals(expected), 'content differs');
  return true;
};

/** Asserts that downloads are refused within 1 s from now (polling every
 *  50 ms; waits up to 10 s to report how long it took otherwise). */
async function assertRevokedWithin1s(account, id) {
  const ms = await pollMs(refusedNow(account, id), 10000);
  assert.notEqual(ms, null, 'still readable 10 s after revocation');
  assert.ok(ms < 1000, `refused only after ${Math.round(ms)} ms`);
}

async function assertRestored(account, id, expected, limit = 5000) {
  const ms = await pollMs(worksNow(account, id, expected), limit);
  assert.notEqual(ms, null, `still refused ${limit} ms later`);
}

/** Every file under dir (recursively), relative to it. */
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

/** path -> {size, mtimeMs, sha256} of every committed blob. */
function blobSnapshot() {
  const dir = path.join(server.dataDir, 'blobs');
  const out = {};
  for (const f of filesUnder(dir)) {
    if (f.includes('~tmp-')) continue;
    const p = path.join(dir, f);
    const st = statSync(p);
    out[f] = {size: st.size, mtimeMs: st.mtimeMs,
              sha256: createHash('sha256').update(readFileSync(p)).digest('hex')};
  }
  return out;
}

/** Asserts that the PATCH `request()` makes fails as an ARM 400 with
 *  `code`, and that the account's encryption did not change. */
async function refusedRule(request, code, account) {
  const before = account ?
      (await cs.accounts.get(rg, account)).properties.encryption : null;
  await assert.rejects(request(), (e) => {
    assert.equal(e.statusCode, 400, `${e.statusCode} ${e.code} ${e.message}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.length > 0);
    return true;
  });
  if (account) {
    assert.deepEqual(
        (await cs.accounts.get(rg, account)).properties.encryption, before);
  }
}

before(async () => {
  server = await startServer();
  credential = credentialFor(server.creds);
  sub = server.creds.subscriptionId;
  const endpoint = server.origin('management');
  cs = new CognitiveServicesManagementClient(credential, sub, {endpoint});
  kv = new KeyVaultManagementClient(credential, sub, {endpoint});
  rm = new ResourceManagementClient(credential, sub, {endpoint});
  await rm.resourceGroups.createOrUpdate(rg, {location: 'westeurope'});
  await rm.resourceGroups.createOrUpdate(eastRg, {location: 'eastus'});
});
after(async () => { await server?.stop(); });

// ---- the walk of the source document ----

describe('the customer-managed key walk', () => {
  const account = 'cmk-walk';
  const vaultName = 'kvcmk-main';
  let vaultUri;
  let keyClient;
  let key1;  // The first version of key "cmk".
  let key2;  // Its second version.
  let principal;
  const early = randomBytes(300 * 1024);  // Uploaded before CMK.
  const data = randomBytes(700 * 1024);  // Uploaded under CMK.
  let earlyFile;
  let file;

  test('a vault with soft delete and purge protection, an RSA 2048 key',
       async () => {
    const v = await createVault(vaultName);
    assert.equal(v.properties.enableSoftDelete, true);
    assert.equal(v.properties.enablePurgeProtection, true);
    assert.equal(v.properties.enableRbacAuthorization, false);
    vaultUri = v.properties.vaultUri;
    assert.equal(vaultUri, `${server.origin(`${vaultName}.vault`)}/`);
    keyClient = vaultClient(vaultUri);
    key1 = await keyClient.createRsaKey('cmk', {keySize: 2048});
    assert.equal(key1.keyType, 'RSA');
    assert.equal(Buffer.from(key1.key.n).length, 256);
  });

  test('the account, with service-managed keys and a file to begin with',
       async () => {
    const a = await createAccount(account, {identity: false});
    assert.equal(a.properties.encryption.keySource, SERVICE);
    earlyFile = await upload(account, early, 'early.bin');
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
  });

  test("enable the account's system-assigned identity", async () => {
    const a = await cs.accounts.beginUpdateAndWait(rg, account, {
      identity: {type: 'SystemAssigned'}});
    assert.equal(a.identity.type, 'SystemAssigned');
    assert.equal(a.identity.tenantId, server.creds.tenantId);
    principal = a.identity.principalId;
    assert.ok(principal);
  });

  test('grant the identity get, wrapKey and unwrapKey on the vault',
       async () => {
    await grant(vaultName, principal);
    const v = await kv.vaults.get(rg, vaultName);
    const entry = v.properties.accessPolicies.find(
        (p) => p.objectId === principal);
    assert.deepEqual(entry.permissions.keys, CMK_OPS);
  });

  test('enable customer-managed keys by key URI', async () => {
    const a = await useKey(account, keyRef(key1));
    const e = a.properties.encryption;
    assert.equal(e.keySource, VAULT);
    assert.equal(e.keyVaultProperties.keyVaultUri, vaultUri);
    assert.equal(e.keyVaultProperties.keyName, 'cmk');
    assert.equal(e.keyVaultProperties.keyVersion, key1.properties.version);
    assert.equal(a.properties.provisioningState, 'Succeeded');
    const s = a.properties.encryptionStatus;
    assert.equal(s.state, 'active', JSON.stringify(s));
    assert.equal(s.keySource, VAULT);
    assert.equal(trimSlash(s.keyVaultUri), trimSlash(vaultUri));
    assert.equal(s.keyName, 'cmk');
    assert.equal(s.keyVersion, key1.properties.version);
    assert.ok(s.lastSuccessfulCheck, JSON.stringify(s));
    // The file from before is still there: only its key was re-wrapped.
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
  });

  test('upload and download under the customer-managed key', async () => {
    file = await upload(account, data, 'train.bin');
    assert.equal(file.status, 'processed');
    const r = await download(account, file.id);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(data));
  });

  test('a new key version: update the account; nothing is re-encrypted',
       async () => {
    const blobsBefore = blobSnapshot();
    assert.ok(Object.keys(blobsBefore).length >= 2, 'blobs under dataDir/blobs');
    key2 = await keyClient.createRsaKey('cmk', {keySize: 2048});
    assert.notEqual(key2.properties.version, key1.properties.version);
    // A fixed version stays in use until the account is told otherwise.
    await sleep(300);
    let a = await cs.accounts.get(rg, account);
    assert.equal(a.properties.encryptionStatus.keyVersion,
                 key1.properties.version);
    a = await useKey(account, keyRef(key2));
    assert.equal(a.properties.encryption.keyVaultProperties.keyVersion,
                 key2.properties.version);
    assert.equal(a.properties.encryptionStatus.keyVersion,
                 key2.properties.version);
    assert.equal(a.properties.encryptionStatus.state, 'active');
    assert.ok((await download(account, file.id)).body.equals(data));
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
    assert.deepEqual(blobSnapshot(), blobsBefore);
  });

  test('removing the access policy revokes access within 1 s', async () => {
    const revokedAt = Date.now();
    await revoke(vaultName, principal);
    await assertRevokedWithin1s(account, file.id);
    await assertRevokedWithin1s(account, earlyFile.id);
    // Through the SDK: a 403 with the code.
    await assert.rejects(azure(account).files.content(file.id), (e) => {
      assert.equal(e.status, 403);
      assert.equal(e.code, 'CustomerManagedKeyInaccessible');
      return true;
    });
    // Uploads are refused too; metadata still answers.
    await assert.rejects(upload(account, Buffer.from('more\n'), 'more.txt'),
                         (e) => {
                           assert.equal(e.status, 403);
                           assert.equal(e.code,
                                        'CustomerManagedKeyInaccessible');
                           return true;
                         });
    const got = await azure(account).files.retrieve(file.id);
    assert.equal(got.id, file.id);
    assert.equal(got.bytes, data.length);
    const ids = [];
    for await (const f of azure(account).files.list()) ids.push(f.id);
    assert.deepEqual(new Set(ids), new Set([file.id, earlyFile.id]));
    // The account says so.
    const s = (await cs.accounts.get(rg, account)).properties.encryptionStatus;
    assert.equal(s.state, 'inaccessible', JSON.stringify(s));
    assert.ok(s.reasonCode, JSON.stringify(s));
    assert.ok(s.reason, JSON.stringify(s));
    // Inaccessible since the revocation (times are whole seconds).
    assert.ok(timeMs(s.since) >= Math.floor(revokedAt / 1000) * 1000,
              JSON.stringify(s));
    assert.ok(timeMs(s.lastSuccessfulCheck) < timeMs(s.since) + 1000,
              JSON.stringify(s));
    assert.equal(s.keyName, 'cmk');
  });

  test('granting access again restores it', async () => {
    await grant(vaultName, principal);
    await assertRestored(account, file.id, data);
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
    const s = (await cs.accounts.get(rg, account)).properties.encryptionStatus;
    assert.equal(s.state, 'active', JSON.stringify(s));
    const more = await upload(account, Buffer.from('more\n'), 'more.txt');
    assert.equal((await download(account, more.id)).body.toString(), 'more\n');
    await azure(account).files.delete(more.id);
  });

  test('disabling the system-assigned identity makes the data inaccessible',
       async () => {
    const a = await cs.accounts.beginUpdateAndWait(rg, account, {
      identity: {type: 'None'}});
    assert.ok(!a.identity || a.identity.type === 'None');
    await assertRevokedWithin1s(account, file.id);
    const s = (await cs.accounts.get(rg, account)).properties.encryptionStatus;
    assert.equal(s.state, 'inaccessible', JSON.stringify(s));
  });

  test('a new identity, granted access, with the key set again: works',
       async () => {
    const a = await cs.accounts.beginUpdateAndWait(rg, account, {
      identity: {type: 'SystemAssigned'}});
    assert.ok(a.identity.principalId);
    assert.notEqual(a.identity.principalId, principal);
    // The old identity's entry is of no use any more.
    await revoke(vaultName, principal).catch(() => {});
    principal = a.identity.principalId;
    await grant(vaultName, principal);
    const b = await useKey(account, keyRef(key2));
    assert.equal(b.properties.encryptionStatus.state, 'active');
    await assertRestored(account, file.id, data, 2000);
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
  });

  test('select the key from the vault without a version: the newest ' +
       'version is used, and followed', async () => {
    const blobsBefore = blobSnapshot();
    const a = await useKey(account, {vaultUri, keyName: 'cmk'});
    assert.equal(a.properties.encryption.keySource, VAULT);
    assert.equal(a.properties.encryption.keyVaultProperties.keyName, 'cmk');
    assert.ok(!a.properties.encryption.keyVaultProperties.keyVersion,
              JSON.stringify(a.properties.encryption));
    assert.equal(a.properties.encryptionStatus.keyVersion,
                 key2.properties.version);
    assert.ok((await download(account, file.id)).body.equals(data));
    // A new version in the vault is picked up without touching the account.
    const key3 = await keyClient.createRsaKey('cmk', {keySize: 2048});
    const ms = await pollMs(async () =>
      (await cs.accounts.get(rg, account)).properties.encryptionStatus
          .keyVersion === key3.properties.version, 5000, 100);
    assert.notEqual(ms, null, 'the newest version is not in use 5 s later');
    assert.ok(!(await cs.accounts.get(rg, account)).properties.encryption
                   .keyVaultProperties.keyVersion);
    assert.ok((await download(account, file.id)).body.equals(data));
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
    assert.deepEqual(blobSnapshot(), blobsBefore);
  });

  test('use a different key', async () => {
    const blobsBefore = blobSnapshot();
    const other = await keyClient.createRsaKey('cmk-other', {keySize: 2048});
    const a = await useKey(account, keyRef(other));
    assert.equal(a.properties.encryption.keyVaultProperties.keyName,
                 'cmk-other');
    assert.equal(a.properties.encryptionStatus.keyName, 'cmk-other');
    assert.equal(a.properties.encryptionStatus.keyVersion,
                 other.properties.version);
    assert.ok((await download(account, file.id)).body.equals(data));
    assert.deepEqual(blobSnapshot(), blobsBefore);
  });

  test('back to Microsoft-managed keys: the vault no longer matters',
       async () => {
    const blobsBefore = blobSnapshot();
    const a = await useServiceKeys(account);
    assert.equal(a.properties.encryption.keySource, SERVICE);
    assert.equal(a.properties.encryptionStatus.keySource, SERVICE);
    assert.equal(a.properties.encryptionStatus.state, 'active');
    await revoke(vaultName, principal);
    // Give a revocation every chance to (wrongly) take effect.
    for (let i = 0; i < 10; i++) {
      const r = await download(account, file.id);
      assert.equal(r.status, 200, `${r.status} ${r.body}`);
      assert.ok(r.body.equals(data));
      await sleep(100);
    }
    assert.ok((await download(account, earlyFile.id)).body.equals(early));
    const more = await upload(account, Buffer.from('after\n'), 'after.txt');
    assert.equal((await download(account, more.id)).body.toString(),
                 'after\n');
    const s = (await cs.accounts.get(rg, account)).properties.encryptionStatus;
    assert.equal(s.state, 'active', JSON.stringify(s));
    for (const [name, b] of Object.entries(blobsBefore)) {
      assert.deepEqual(blobSnapshot()[name], b, name);
    }
  });

  test('delete the file: it is gone', async () => {
    const res = await azure(account).files.delete(file.id);
    assert.deepEqual(res, {id: file.id, object: 'file', deleted: true});
    assert.equal((await download(account, file.id)).status, 404);
    await assert.rejects(azure(account).files.retrieve(file.id),
                         (e) => e.status === 404);
  });
});

describe('revocation by the key itself', () => {
  const account = 'cmk-keyrev';
  const vaultName = 'kvcmk-keyrev';
  let keyClient;
  let file;
  const data = randomBytes(64 * 1024);

  before(async () => {
    const v = await createVault(vaultName);
    keyClient = vaultClient(v.properties.vaultUri);
    const key = await keyClient.createRsaKey('cmk', {keySize: 2048});
    const a = await createAccount(account);
    await grant(vaultName, a.identity.principalId);
    await useKey(account, keyRef(key));
    file = await upload(account, data);
  });

  test('disabling the key revokes; enabling it restores', async () => {
    assert.ok((await download(account, file.id)).body.equals(data));
    await keyClient.updateKeyProperties('cmk', {enabled: false});
    await assertRevokedWithin1s(account, file.id);
    await keyClient.updateKeyProperties('cmk', {enabled: true});
    await assertRestored(account, file.id, data);
  });

  test('deleting the key revokes; recovering it restores', async () => {
    await (await keyClient.beginDeleteKey('cmk', {intervalInMs: 50}))
        .pollUntilDone();
    await assertRevokedWithin1s(account, file.id);
    await (await keyClient.beginRecoverDeletedKey('cmk', {intervalInMs: 50}))
        .pollUntilDone();
    await assertRestored(account, file.id, data);
  });

  test('closing the vault firewall to trusted services revokes; letting ' +
       'them through restores', async () => {
    await kv.vaults.update(rg, vaultName, {properties: {
      networkAcls: {defaultAction: 'Deny', bypass: 'None'}}});
    await assertRevokedWithin1s(account, file.id);
    await kv.vaults.update(rg, vaultName, {properties: {
      networkAcls: {defaultAction: 'Deny', bypass: 'AzureServices'}}});
    await assertRestored(account, file.id, data);
    await kv.vaults.update(rg, vaultName, {properties: {
      networkAcls: {defaultAction: 'Allow', bypass: 'AzureServices'}}});
  });

  test('while the key is inaccessible, files and the account can still be ' +
       'deleted', async () => {
    const other = await upload(account, randomBytes(2000), 'other.bin');
    const a = await cs.accounts.get(rg, account);
    await revoke(vaultName, a.identity.principalId);
    await assertRevokedWithin1s(account, other.id);
    assert.deepEqual(await azure(account).files.delete(other.id),
                     {id: other.id, object: 'file', deleted: true});
    await assert.rejects(azure(account).files.retrieve(other.id),
                         (e) => e.status === 404);
    await grant(vaultName, a.identity.principalId);
    await assertRestored(account, file.id, data);

    // An account whose key is inaccessible: deleting it deletes its blobs.
    const doomed = await createAccount('cmk-doomed');
    await grant(vaultName, doomed.identity.principalId);
    await useKey('cmk-doomed', keyRef(await keyClient.getKey('cmk')));
    const before = blobSnapshot();
    const f = await upload('cmk-doomed', randomBytes(3000));
    const mine = Object.keys(blobSnapshot()).filter((b) => !(b in before));
    assert.ok(mine.length >= 1);
    await revoke(vaultName, doomed.identity.principalId);
    await assertRevokedWithin1s('cmk-doomed', f.id);
    await cs.accounts.beginDeleteAndWait(rg, 'cmk-doomed');
    const left = await pollMs(() => mine.every((b) => !(b in blobSnapshot())),
                              5000);
    assert.notEqual(left, null, 'the blobs of the deleted account remain');
  });

  test('a key change that would lose data is refused while the key is ' +
       'inaccessible', async () => {
    const a = await cs.accounts.get(rg, account);
    await revoke(vaultName, a.identity.principalId);
    await assertRevokedWithin1s(account, file.id);
    // Moving to service keys needs the current key to open the data key.
    await assert.rejects(useServiceKeys(account),
                         (e) => e.statusCode >= 400 && e.statusCode < 500);
    assert.equal((await cs.accounts.get(rg, account)).properties.encryption
                     .keySource, VAULT);
    await grant(vaultName, a.identity.principalId);
    await assertRestored(account, file.id, data);
  });
});

// ---- one refusal per rule ----

describe('CMK rules: ARM 400 errors', () => {
  const account = 'cmk-rules';
  const rulesVault = 'kvcmk-rules';
  let principal;
  let rulesUri;
  let rulesKeys;
  let good;  // A valid key in the rules vault.

  before(async () => {
    const a = await createAccount(account);
    principal = a.identity.principalId;
    const v = await createVault(rulesVault);
    rulesUri = v.properties.vaultUri;
    rulesKeys = vaultClient(rulesUri);
    good = await rulesKeys.createRsaKey('good', {keySize: 2048});
    await grant(rulesVault, principal);
  });

  /** Sets `ref` and then service keys again: the setup was right. */
  async function works(ref, acct = account) {
    const a = await useKey(acct, ref);
    assert.equal(a.properties.encryptionStatus.state, 'active');
    await useServiceKeys(acct);
  }

  test('the rules vault and key work (the control)', async () => {
    await works(keyRef(good));
  });

  test('KeyVaultUriInvalid: malformed vault URIs and key names', async () => {
    const port = server.port;
    for (const vaultUri of ['not a uri', '',
                            `http://${rulesVault}.vault.localhost:${port}/`,
                            `${rulesUri}keys/good`,
                            `${rulesUri}?x=1`]) {
      await refusedRule(() => useKey(account, {vaultUri, keyName: 'good'}),
                        'KeyVaultUriInvalid', account);
    }
    await refusedRule(() => useKey(account, {
      vaultUri: rulesUri, keyName: 'good', keyVersion: 'xyz'}),
                      'KeyVaultUriInvalid', account);
    await refusedRule(() => useKey(account, {
      vaultUri: rulesUri, keyName: 'bad name/..'}),
                      'KeyVaultUriInvalid', account);
    // keySource Microsoft.KeyVault without keyVaultProperties.
    await refusedRule(() => cs.accounts.beginUpdateAndWait(rg, account, {
      properties: {encryption: {keySource: VAULT}}}),
                      'KeyVaultUriInvalid', account);
  });

  test('KeyVaultUnreachable: a vault that does not exist', async () => {
    await refusedRule(() => useKey(account, {
      vaultUri: `${server.origin('kvcmk-nowhere.vault')}/`, keyName: 'good'}),
                      'KeyVaultUnreachable', account);
  });

  test('KeyVaultTenantMismatch: a vault in another tenant', async () => {
    // A second tenant with a subscription and an Owner of it.
    const tenant = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                      'tenant', 'create', '--name',
                                      'Fabrikam']));
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, '--tenant', tenant.tenantId, 'sp',
      'create-for-rbac', '--name', 'fabrikam-admin', '--role', 'Owner',
      '--scopes', `/subscriptions/${tenant.subscriptionId}`]));
    const listed = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                      '--tenant', tenant.tenantId, 'sp',
                                      'list']));
    const objectId = listed.find((p) => p.appId === sp.appId).id;
    const fabCred = credentialFor({tenantId: tenant.tenantId,
                                   clientId: sp.appId,
                                   clientSecret: sp.password});
    const endpoint = server.origin('management');
    const fabRm = new ResourceManagementClient(fabCred, tenant.subscriptionId,
                                               {endpoint});
    await fabRm.resourceGroups.createOrUpdate('rg-fab',
                                              {location: 'westeurope'});
    const fabKv = new KeyVaultManagementClient(fabCred, tenant.subscriptionId,
                                               {endpoint});
    const v = await createVault('kvcmk-fabrikam', {}, {
      group: 'rg-fab', client: fabKv, tenantId: tenant.tenantId, objectId});
    assert.equal(v.properties.tenantId, tenant.tenantId);
    const key = await vaultClient(v.properties.vaultUri, fabCred)
                    .createRsaKey('cmk', {keySize: 2048});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyVaultTenantMismatch', account);
  });

  test('KeyVaultRegionMismatch: a vault in another region', async () => {
    const v = await createVault('kvcmk-east', {}, {group: eastRg,
                                                   location: 'eastus'});
    const key = await vaultClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    await grant('kvcmk-east', principal, CMK_OPS, eastRg);
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyVaultRegionMismatch', account);
    // An account in that region may use it.
    const east = await createAccount('cmk-east', {location: 'eastus'});
    await grant('kvcmk-east', east.identity.principalId, CMK_OPS, eastRg);
    const a = await cs.accounts.beginUpdateAndWait(rg, 'cmk-east', {
      properties: {encryption: {keySource: VAULT, keyVaultProperties: {
        keyVaultUri: v.properties.vaultUri, keyName: 'cmk',
        keyVersion: key.properties.version}}}});
    assert.equal(a.properties.encryptionStatus.state, 'active');
  });

  test('KeyVaultNotRecoverable: no purge protection', async () => {
    const v = await createVault('kvcmk-nopp', {enablePurgeProtection: false});
    assert.equal(v.properties.enablePurgeProtection, false);
    const key = await vaultClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    await grant('kvcmk-nopp', principal);
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyVaultNotRecoverable', account);
    // Turning purge protection on makes the vault fit.
    await kv.vaults.update(rg, 'kvcmk-nopp', {
      properties: {enablePurgeProtection: true}});
    await works(keyRef(key));
  });

  test('KeyVaultRbacNotSupported: a vault using Azure RBAC', async () => {
    const v = await createVault('kvcmk-rbac', {enableRbacAuthorization: true,
                                               accessPolicies: []});
    assert.equal(v.properties.enableRbacAuthorization, true);
    // Everything else as RBAC would want it: the administrator may make
    // keys, the identity may use them.
    const auth = new AuthorizationManagementClient(
        credential, sub, {endpoint: server.origin('management')});
    const roleId = (id) =>
        `/subscriptions/${sub}/providers/Microsoft.Authorization/` +
        `roleDefinitions/${id}`;
    await auth.roleAssignments.create(v.id, randomUUID(), {
      roleDefinitionId: roleId('14b46e9e-c2b7-41b4-b07b-48a6ebf60603'),
      principalId: server.creds.objectId});  // Key Vault Crypto Officer.
    await auth.roleAssignments.create(v.id, randomUUID(), {
      // Key Vault Crypto Service Encryption User.
      roleDefinitionId: roleId('e147488a-f6f5-4113-8e2d-b22465e65bf6'),
      principalId: principal});
    const key = await vaultClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyVaultRbacNotSupported', account);
  });

  test('KeyVaultFirewallBlocked: a firewall that does not let trusted ' +
       'services through', async () => {
    const v = await createVault('kvcmk-fw');
    const key = await vaultClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    await grant('kvcmk-fw', principal);
    await kv.vaults.update(rg, 'kvcmk-fw', {properties: {
      networkAcls: {defaultAction: 'Deny', bypass: 'None'}}});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyVaultFirewallBlocked', account);
    // Public network access disabled, no bypass: the same.
    await kv.vaults.update(rg, 'kvcmk-fw', {properties: {
      networkAcls: {defaultAction: 'Allow', bypass: 'None'},
      publicNetworkAccess: 'Disabled'}});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyVaultFirewallBlocked', account);
    // Letting trusted services through makes it fit.
    await kv.vaults.update(rg, 'kvcmk-fw', {properties: {
      networkAcls: {defaultAction: 'Deny', bypass: 'AzureServices'},
      publicNetworkAccess: 'Enabled'}});
    await works(keyRef(key));
  });

  test('SystemAssignedIdentityRequired: an account without identity',
       async () => {
    await createAccount('cmk-noid', {identity: false});
    await refusedRule(() => useKey('cmk-noid', keyRef(good)),
                      'SystemAssignedIdentityRequired', 'cmk-noid');
  });

  test('UserAssignedIdentityNotSupported: user-assigned identities',
       async () => {
    const uai = `/subscriptions/${sub}/resourceGroups/${rg}/providers/` +
        'Microsoft.ManagedIdentity/userAssignedIdentities/uai';
    await refusedRule(() => useKey(account, keyRef(good), {
      identity: {type: 'UserAssigned', userAssignedIdentities: {[uai]: {}}}}),
                      'UserAssignedIdentityNotSupported', account);
    await refusedRule(() => cs.accounts.beginUpdateAndWait(rg, account, {
      properties: {encryption: {keySource: VAULT, keyVaultProperties: {
        keyVaultUri: rulesUri, keyName: 'good',
        keyVersion: good.properties.version,
        identityClientId: randomUUID()}}}}),
                      'UserAssignedIdentityNotSupported', account);
    // The system-assigned identity is still there and works.
    assert.equal((await cs.accounts.get(rg, account)).identity.principalId,
                 principal);
  });

  test('KeyVaultAccessDenied: no policy, or one without unwrapKey or get',
       async () => {
    const a = await createAccount('cmk-nopolicy');
    const id = a.identity.principalId;
    await refusedRule(() => useKey('cmk-nopolicy', keyRef(good)),
                      'KeyVaultAccessDenied', 'cmk-nopolicy');
    await grant(rulesVault, id, ['get', 'wrapKey']);
    await refusedRule(() => useKey('cmk-nopolicy', keyRef(good)),
                      'KeyVaultAccessDenied', 'cmk-nopolicy');
    await kv.vaults.updateAccessPolicy(rg, rulesVault, 'replace',
                                       policy(id, ['wrapKey', 'unwrapKey']));
    await refusedRule(() => useKey('cmk-nopolicy', keyRef(good)),
                      'KeyVaultAccessDenied', 'cmk-nopolicy');
    // All three: fine (the control).
    await kv.vaults.updateAccessPolicy(rg, rulesVault, 'replace',
                                       policy(id, CMK_OPS));
    await works(keyRef(good), 'cmk-nopolicy');
  });

  test('KeyVaultKeyNotFound: no such key, no such version', async () => {
    await refusedRule(() => useKey(account, {
      vaultUri: rulesUri, keyName: 'no-such-key'}),
                      'KeyVaultKeyNotFound', account);
    await refusedRule(() => useKey(account, {
      vaultUri: rulesUri, keyName: 'good', keyVersion: '0'.repeat(32)}),
                      'KeyVaultKeyNotFound', account);
  });

  // KeyTypeNotSupported needs a non-RSA key, which the built-in vault does
  // not make (EC and oct are refused): external-vault.test.js covers it.

  test('KeySizeNotSupported: RSA 3072 and 4096', async () => {
    for (const size of [3072, 4096]) {
      const key = await rulesKeys.createRsaKey(`rsa-${size}`, {keySize: size});
      await refusedRule(() => useKey(account, keyRef(key)),
                        'KeySizeNotSupported', account);
    }
  });

  test('KeyDisabled', async () => {
    const key = await rulesKeys.createRsaKey('disabled', {enabled: false});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyDisabled', account);
  });

  test('KeyNotYetValid: nbf in the future', async () => {
    const key = await rulesKeys.createRsaKey(
        'early', {notBefore: new Date(Date.now() + 3600e3)});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyNotYetValid', account);
  });

  test('KeyExpired: exp in the past', async () => {
    const key = await rulesKeys.createRsaKey(
        'late', {expiresOn: new Date(Date.now() - 3600e3)});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyExpired', account);
  });

  test('KeyOperationsNotAllowed: key_ops without wrapKey/unwrapKey',
       async () => {
    const key = await rulesKeys.createRsaKey('encrypt-only',
                                             {keyOps: ['encrypt']});
    await refusedRule(() => useKey(account, keyRef(key)),
                      'KeyOperationsNotAllowed', account);
    const half = await rulesKeys.createRsaKey('wrap-only',
                                              {keyOps: ['wrapKey']});
    await refusedRule(() => useKey(account, keyRef(half)),
                      'KeyOperationsNotAllowed', account);
  });

  test('the vault may be in another subscription of the same tenant; the ' +
       'account may move between subscriptions', async () => {
    const {SubscriptionClient} = await import('@azure/arm-subscriptions');
    const endpoint = server.origin('management');
    const alias = await new SubscriptionClient(credential, {endpoint})
                      .alias.beginCreateAndWait('cmk-team', {properties: {
                        displayName: 'CMK team', workload: 'Production'}});
    const sub2 = alias.properties.subscriptionId;
    await new ResourceManagementClient(credential, sub2, {endpoint})
        .resourceGroups.createOrUpdate('rg-team', {location: 'westeurope'});
    const cs2 = new CognitiveServicesManagementClient(credential, sub2,
                                                      {endpoint});
    const a = await cs2.accounts.beginCreateAndWait('rg-team', 'cmk-sub2', {
      location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'},
      identity: {type: 'SystemAssigned'}});
    keys['cmk-sub2'] = await cs2.accounts.listKeys('rg-team', 'cmk-sub2');
    await grant(rulesVault, a.identity.principalId);
    const b = await cs2.accounts.beginUpdateAndWait('rg-team', 'cmk-sub2', {
      properties: {encryption: {keySource: VAULT, keyVaultProperties: {
        keyVaultUri: rulesUri, keyName: 'good',
        keyVersion: good.properties.version}}}});
    assert.equal(b.properties.encryptionStatus.state, 'active');
    const data = randomBytes(5000);
    const f = await upload('cmk-sub2', data);
    assert.ok((await download('cmk-sub2', f.id)).body.equals(data));

    await new ResourceManagementClient(credential, sub2, {endpoint})
        .resources.beginMoveResourcesAndWait('rg-team', {
          resources: [b.id],
          targetResourceGroup: `/subscriptions/${sub}/resourceGroups/${rg}`});
    const moved = await cs.accounts.get(rg, 'cmk-sub2');
    assert.equal(moved.identity.principalId, a.identity.principalId);
    assert.equal(moved.properties.encryption.keySource, VAULT);
    assert.equal(moved.properties.encryptionStatus.state, 'active');
    assert.ok((await download('cmk-sub2', f.id)).body.equals(data));
  });

  test('after every refusal the account still works with its own keys',
       async () => {
    const a = await cs.accounts.get(rg, account);
    assert.equal(a.properties.encryption.keySource, SERVICE);
    assert.equal(a.properties.encryptionStatus.state, 'active');
    const data = randomBytes(1000);
    const f = await upload(account, data);
    assert.ok((await download(account, f.id)).body.equals(data));
  });
});

// ---- a restart ----

describe('a restarted server', () => {
  test('reads data under service-managed and customer-managed keys, and ' +
       'still follows revocation', async () => {
    const v = await createVault('kvcmk-restart');
    const key = await vaultClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    const a = await createAccount('cmk-restart');
    await grant('kvcmk-restart', a.identity.principalId);
    await useKey('cmk-restart', keyRef(key));
    await createAccount('cmk-restart-svc', {identity: false});
    const data = randomBytes(200 * 1024);
    const f1 = await upload('cmk-restart', data);
    const f2 = await upload('cmk-restart-svc', data);

    // The same data dir and port: the vault keeps its URI.
    assert.equal(await server.stop(), 0);
    server = await startServer({dataDir: server.dataDir, port: server.port});

    assert.ok((await download('cmk-restart', f1.id)).body.equals(data));
    assert.ok((await download('cmk-restart-svc', f2.id)).body.equals(data));
    const s = (await cs.accounts.get(rg, 'cmk-restart')).properties
                  .encryptionStatus;
    assert.equal(s.state, 'active', JSON.stringify(s));
    assert.equal(s.keyVersion, key.properties.version);
    await revoke('kvcmk-restart', a.identity.principalId);
    await assertRevokedWithin1s('cmk-restart', f1.id);
    assert.ok((await download('cmk-restart-svc', f2.id)).body.equals(data));
    await grant('kvcmk-restart', a.identity.principalId);
    await assertRestored('cmk-restart', f1.id, data);
  });
});

// ---- a subscription moved to another directory ----

// "If you subsequently move the subscription, resource group, or resource
// from one Microsoft Entra directory to another, the managed identity
// associated with the resource is not transferred to the new tenant, so
// customer-managed keys may no longer work." A transfer is an operator's
// act (`atrest ad subscription change-directory`), not an API call, so the
// server learns of it at its next key check: this server checks every 1 s.
describe('a subscription moved to another directory', () => {
  let srv;
  after(async () => { await srv?.stop(); });

  test('the identity stays behind: CMK data is inaccessible until the ' +
       'subscription comes back', async () => {
    srv = await startServer({extraArgs: ['--accounts-kek-recheck-seconds',
                                         '1']});
    const cred = credentialFor(srv.creds, srv);
    const endpoint = srv.origin('management');
    const {SubscriptionClient} = await import('@azure/arm-subscriptions');
    const alias = await new SubscriptionClient(cred, {endpoint})
                      .alias.beginCreateAndWait('moving', {properties: {
                        displayName: 'Moving', workload: 'Production'}});
    const subX = alias.properties.subscriptionId;
    await new ResourceManagementClient(cred, subX, {endpoint})
        .resourceGroups.createOrUpdate('rg-x', {location: 'westeurope'});
    await new ResourceManagementClient(cred, srv.creds.subscriptionId,
                                       {endpoint})
        .resourceGroups.createOrUpdate('rg-v', {location: 'westeurope'});
    // The vault stays in the first subscription, in the first tenant.
    const kvA = new KeyVaultManagementClient(cred, srv.creds.subscriptionId,
                                             {endpoint});
    const v = await createVault('kvcmk-moving', {}, {
      group: 'rg-v', client: kvA, tenantId: srv.creds.tenantId,
      objectId: srv.creds.objectId});
    const key = await vaultClient(v.properties.vaultUri, cred)
                    .createRsaKey('cmk', {keySize: 2048});
    const csX = new CognitiveServicesManagementClient(cred, subX, {endpoint});
    const a = await csX.accounts.beginCreateAndWait('rg-x', 'cmk-moving', {
      location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'},
      identity: {type: 'SystemAssigned'}});
    await kvA.vaults.updateAccessPolicy('rg-v', 'kvcmk-moving', 'add', {
      properties: {accessPolicies: [{
        tenantId: srv.creds.tenantId, objectId: a.identity.principalId,
        permissions: {keys: CMK_OPS}}]}});
    await csX.accounts.beginUpdateAndWait('rg-x', 'cmk-moving', {
      properties: {encryption: {keySource: VAULT, keyVaultProperties: {
        keyVaultUri: v.properties.vaultUri, keyName: 'cmk',
        keyVersion: key.properties.version}}}});
    const {key1} = await csX.accounts.listKeys('rg-x', 'cmk-moving');
    const client = new AzureOpenAI({
      endpoint: `${srv.origin('cmk-moving.openai')}/`, apiKey: key1,
      apiVersion: API_VERSION, maxRetries: 0});
    const data = randomBytes(10000);
    const f = await client.files.create({file: await toFile(data, 'x.bin'),
                                         purpose: 'assistants'});
    const get = async () => {
      const res = await fetch(`${srv.origin('cmk-moving.openai')}/openai/` +
                              `files/${f.id}/content?api-version=` +
                              API_VERSION, {headers: {'api-key': key1}});
      const body = Buffer.from(await res.arrayBuffer());
      return {status: res.status, body};
    };
    assert.ok((await get()).body.equals(data));

    const other = JSON.parse(atrest(['ad', '--data-dir', srv.dataDir,
                                     'tenant', 'create', '--name',
                                     'Contoso']));
    atrest(['ad', '--data-dir', srv.dataDir, 'subscription',
            'change-directory', '--subscription', subX, '--to-tenant',
            other.tenantId]);
    let ms = await pollMs(async () => {
      const r = await get();
      if (r.status === 200) return false;
      assert.equal(r.status, 403, r.body.toString());
      assert.equal(JSON.parse(r.body).error.code,
                   'CustomerManagedKeyInaccessible');
      return true;
    }, 5000);
    assert.notEqual(ms, null, 'still readable 5 s after the transfer');
    // Metadata still answers with the API key.
    assert.equal((await client.files.retrieve(f.id)).id, f.id);
    // The new directory's Owner sees why.
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', srv.dataDir, '--tenant', other.tenantId, 'sp',
      'create-for-rbac', '--name', 'contoso-admin', '--role', 'Owner',
      '--scopes', `/subscriptions/${subX}`]));
    const csB = new CognitiveServicesManagementClient(
        credentialFor({tenantId: sp.tenant, clientId: sp.appId,
                       clientSecret: sp.password}, srv),
        subX, {endpoint});
    const s = (await csB.accounts.get('rg-x', 'cmk-moving')).properties
                  .encryptionStatus;
    assert.equal(s.state, 'inaccessible', JSON.stringify(s));
    assert.ok(s.reasonCode, JSON.stringify(s));
    // The old directory's administrator no longer reaches the subscription.
    await assert.rejects(csX.accounts.get('rg-x', 'cmk-moving'),
                         (e) => [401, 403, 404].includes(e.statusCode));

    // Back to the first directory: the identity is at home again.
    atrest(['ad', '--data-dir', srv.dataDir, 'subscription',
            'change-directory', '--subscription', subX, '--to-tenant',
            srv.creds.tenantId]);
    ms = await pollMs(async () => (await get()).status === 200, 5000);
    assert.notEqual(ms, null, 'still refused 5 s after the transfer back');
    assert.ok((await get()).body.equals(data));
  });
});

// ---- nothing in plaintext at rest ----

// Finds verbatim copies of the plaintext in a data dir. The plaintext is
// 1 MiB of random bytes, so each of its 16-byte windows occurs once in it
// (a repeat has probability about 2^-89), and a 16-byte window found in a
// data file is a copy of the plaintext, not chance (about 2^-100 per file).
// Indexing every one of the 1M windows would cost a Map of 1M entries;
// instead the windows at every 16th offset (65,536 of them) and the last
// one are indexed by their first 4 bytes, and each data file is scanned once,
// offset by offset, looking those 4 bytes up and comparing the 16. Any
// verbatim copy of 31 or more consecutive plaintext bytes contains an
// indexed window, so it is found; so is a copy of the file's first or last
// 16 bytes. (Encodings such as base64 or hex are not searched.)
// For a plaintext that is not random throughout (the JSON Lines file, whose
// keys repeat on every line), `onlyUnique` leaves out the windows that occur
// more than once in it: only its random parts identify it.
function plaintextIndex(plain, {onlyUnique = false} = {}) {
  const index = new Map();
  const add = (off) => {
    if (onlyUnique) {
      const w = plain.subarray(off, off + 16);
      if (plain.indexOf(w) !== plain.lastIndexOf(w)) return;
    }
    const k = plain.readUInt32LE(off);
    const list = index.get(k);
    if (list) list.push(off); else index.set(k, [off]);
  };
  for (let off = 0; off + 16 <= plain.length; off += 16) add(off);
  add(plain.length - 16);
  return index;
}

function findPlaintext(data, plain, index) {
  for (let i = 0; i + 16 <= data.length; i++) {
    const offs = index.get(data.readUInt32LE(i));
    if (!offs) continue;
    for (const off of offs) {
      if (data.compare(plain, off, off + 16, i, i + 16) === 0) {
        return {at: i, plaintextOffset: off};
      }
    }
  }
  return null;
}

function scanDataDir(dir, plains) {
  const leaks = [];
  for (const f of filesUnder(dir)) {
    let data;
    try {
      data = readFileSync(path.join(dir, f));
    } catch (e) {
      if (e.code === 'ENOENT') continue;  // Gone meanwhile (a WAL, a tmp).
      throw e;
    }
    for (const [name, {plain, index}] of Object.entries(plains)) {
      const hit = findPlaintext(data, plain, index);
      if (hit) leaks.push(`${name} in ${f} at ${hit.at}`);
    }
  }
  return leaks;
}

describe('nothing in plaintext at rest', () => {
  test('no 16-byte window of uploaded files is anywhere under the data dir',
       async () => {
    const plains = {};
    const make = (name) => {
      const plain = randomBytes(1024 * 1024);
      const index = plaintextIndex(plain);
      plains[name] = {plain, index};
      return plain;
    };
    // The index finds every sampled window of the plaintext in itself.
    const probe = make('probe');
    assert.ok(findPlaintext(probe.subarray(5000, 5040), probe,
                            plains.probe.index));
    assert.equal(findPlaintext(randomBytes(1 << 16), probe,
                               plains.probe.index), null);
    delete plains.probe;

    // A service-managed account and a CMK account, each with a file; the
    // fine-tune validator sees a JSON Lines file in plaintext as it streams.
    const service = make('service');
    await createAccount('cmk-scan-svc', {identity: false});
    const f1 = await upload('cmk-scan-svc', service, 'service.bin');
    const cmk = make('cmk');
    const v = await createVault('kvcmk-scan');
    const key = await vaultClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    const a = await createAccount('cmk-scan-cmk');
    await grant('kvcmk-scan', a.identity.principalId);
    await useKey('cmk-scan-cmk', keyRef(key));
    const f2 = await upload('cmk-scan-cmk', cmk, 'cmk.bin');
    const lines = [];
    for (let i = 0; lines.join('\n').length < 64 * 1024; i++) {
      lines.push(JSON.stringify({messages: [
        {role: 'user', content: randomBytes(48).toString('hex')},
        {role: 'assistant', content: randomBytes(48).toString('hex')}]}));
    }
    const jsonl = Buffer.from(lines.join('\n') + '\n');
    plains.jsonl = {plain: jsonl,
                    index: plaintextIndex(jsonl, {onlyUnique: true})};
    assert.ok(plains.jsonl.index.size > 2000, `${plains.jsonl.index.size}`);
    const f3 = await upload('cmk-scan-cmk', jsonl, 'train.jsonl',
                            'fine-tune');
    assert.equal(f3.status, 'processed', JSON.stringify(f3));
    assert.ok((await download('cmk-scan-svc', f1.id)).body.equals(service));
    assert.ok((await download('cmk-scan-cmk', f2.id)).body.equals(cmk));
    assert.ok((await download('cmk-scan-cmk', f3.id)).body.equals(jsonl));

    // While the server runs (its write-ahead log included) ...
    assert.ok(filesUnder(server.dataDir).length > 3);
    assert.deepEqual(scanDataDir(server.dataDir, plains), []);
    // ... and after it stopped (and checkpointed what it keeps).
    assert.equal(await server.stop(), 0);
    assert.deepEqual(scanDataDir(server.dataDir, plains), []);
  });
});
