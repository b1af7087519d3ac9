// The built-in key vault's data plane through @azure/keyvault-keys 4.10 and
// @azure/identity, exactly as an Azure user runs them: challenge-based
// authentication with resource verification left on, tokens from atrest's
// own identity provider, HTTPS (reference/keyvault-api.md §1-§5).
import assert from 'node:assert/strict';
import {createHash, publicEncrypt, constants, createPublicKey, generateKeyPairSync,
        verify as nodeVerify} from 'node:crypto';
import {after, before, describe, test} from 'node:test';

import {ClientSecretCredential} from '@azure/identity';
import {CryptographyClient, KeyClient} from '@azure/keyvault-keys';

import {atrest, startServer} from './support/atrest.js';
import {RawConn, parseResponses} from './support/raw-tls.js';

let server;
let admin;  // ClientSecretCredential of the bootstrap administrator.

function credentialFor(creds) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId,
                                    creds.clientSecret, {
                                      authorityHost: server.origin('login'),
                                      disableInstanceDiscovery: true,
                                    });
}

async function armToken(cred = admin) {
  return (await cred.getToken(`${server.origin('management')}/.default`)).token;
}

// Creates a vault through ARM with the given properties.
async function createVault(name, properties = {}, {cred = admin, group = 'kv'} = {}) {
  const token = await armToken(cred);
  const base = `${server.origin('management')}/subscriptions/` +
      `${server.creds.subscriptionId}/resourceGroups/${group}`;
  let res = await fetch(`${base}?api-version=2022-09-01`, {
    method: 'PUT', headers: {authorization: `Bearer ${token}`,
                             'content-type': 'application/json'},
    body: JSON.stringify({location: 'westus'})});
  assert.ok(res.ok, `group: ${res.status}`);
  res = await fetch(
      `${base}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`, {
        method: 'PUT',
        headers: {authorization: `Bearer ${token}`,
                  'content-type': 'application/json'},
        body: JSON.stringify({location: 'westus', properties: {
          tenantId: server.creds.tenantId,
          sku: {family: 'A', name: 'standard'},
          accessPolicies: [{tenantId: server.creds.tenantId,
                            objectId: server.creds.objectId,
                            permissions: {keys: ['all']}}],
          ...properties}})});
  const body = await res.json();
  assert.ok(res.ok, `vault: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// The innererror code of a Key Vault error as the SDK surfaces it.
function inner(e) {
  const error = e.details?.error ?? {};
  return (error.innerError ?? error.innererror)?.code;
}

function vaultUrl(name) { return server.origin(`${name}.vault`); }

function keyClient(vault, cred = admin, options = {}) {
  return new KeyClient(vaultUrl(vault), cred, options);
}

before(async () => {
  server = await startServer();
  admin = credentialFor(server.creds);
});
after(async () => { await server.stop(); });

describe('keys through @azure/keyvault-keys', () => {
  let client;
  before(async () => {
    await createVault('kv-main', {softDeleteRetentionInDays: 7});
    client = keyClient('kv-main');
  });

  test('create RSA keys of every size; ids carry the request host', async () => {
    for (const size of [2048, 3072, 4096]) {
      const key = await client.createRsaKey(`rsa-${size}`, {keySize: size});
      assert.equal(key.name, `rsa-${size}`);
      assert.equal(key.keyType, 'RSA');
      assert.equal(Buffer.from(key.key.n).length, size / 8);
      assert.deepEqual(Buffer.from(key.key.e), Buffer.from([1, 0, 1]));
      assert.equal(key.key.d, undefined);
      assert.match(key.id,
          new RegExp(`^${vaultUrl('kv-main')}/keys/rsa-${size}/[0-9a-f]{32}$`));
      assert.equal(key.properties.recoveryLevel, 'CustomizedRecoverable+Purgeable');
      assert.equal(key.properties.recoverableDays, 7);
    }
    await assert.rejects(client.createKey('ec', 'EC'),
                         (e) => e.statusCode === 400 && e.code === 'BadParameter');
    await assert.rejects(client.createRsaKey('small', {keySize: 1024}),
                         (e) => e.statusCode === 400 && e.code === 'BadParameter');
  });

  test('key ids name the configured domain, never what a Host header ' +
       'smuggles in', async () => {
    await client.createRsaKey('host-check', {keySize: 2048});
    const token = (await admin.getToken(`${server.origin('vault')}/.default`)).token;
    const get = async (hostHeader) => {
      const conn = await RawConn.open(server.port,
                                      {servername: 'kv-main.vault.localhost'});
      try {
        await conn.write('GET /keys/host-check?api-version=7.4 HTTP/1.1\r\n' +
                         `Host: ${hostHeader}\r\n` +
                         `Authorization: Bearer ${token}\r\n\r\n`);
        const [res] = parseResponses(await conn.waitFor(
            (t) => parseResponses(t)[0]?.complete));
        return {res, closed: await conn.waitClosed(2000)};
      } finally {
        conn.destroy();
      }
    };
    // Everything after the last ':' used to be taken as the port.
    let {res, closed} = await get(
        `kv-main.vault.localhost:${server.port}@evil.example`);
    assert.equal(res.status, 400, res.body);
    assert.equal(JSON.parse(res.body).error.code, 'BadRequest');
    assert.ok(closed);
    ({res} = await get(`KV-Main.Vault.LOCALHOST:${server.port}`));
    assert.equal(res.status, 200, res.body);
    assert.match(JSON.parse(res.body).key.kid, new RegExp(
        `^https://kv-main\\.vault\\.localhost:${server.port}/keys/host-check/` +
        '[0-9a-f]{32}$'));
  });

  test('get latest and by version, update, list keys and versions with paging', async () => {
    const first = await client.createRsaKey('paged', {tags: {a: 'b'}});
    const second = await client.createRsaKey('paged');
    assert.notEqual(first.properties.version, second.properties.version);
    assert.equal((await client.getKey('paged')).properties.version,
                 second.properties.version);
    const old = await client.getKey('paged', {version: first.properties.version});
    assert.deepEqual(old.properties.tags, {a: 'b'});

    const updated = await client.updateKeyProperties(
        'paged', first.properties.version,
        {enabled: false, tags: {x: 'y'}, expiresOn: new Date('2037-01-01T00:00:00Z')});
    assert.equal(updated.properties.enabled, false);
    assert.deepEqual(updated.properties.tags, {x: 'y'});
    assert.equal(updated.properties.expiresOn.toISOString(), '2037-01-01T00:00:00.000Z');
    // Updating the latest version through the empty version segment.
    const latest = await client.updateKeyProperties('paged', {keyOps: ['sign', 'verify']});
    assert.deepEqual(latest.keyOperations, ['sign', 'verify']);

    for (let i = 0; i < 4; i++) await client.createRsaKey(`many-${i}`);
    const names = [];
    let pages = 0;
    for await (const page of client.listPropertiesOfKeys().byPage({maxPageSize: 2})) {
      pages++;
      assert.ok(page.length <= 2);
      for (const p of page) names.push(p.name);
    }
    assert.ok(pages >= 4, `pages: ${pages}`);
    for (const n of ['many-0', 'many-3', 'paged', 'rsa-2048']) assert.ok(names.includes(n));
    assert.equal(new Set(names).size, names.length);

    const versions = [];
    for await (const v of client.listPropertiesOfKeyVersions('paged')) versions.push(v.version);
    assert.deepEqual(versions.sort(),
                     [first.properties.version, second.properties.version].sort());
  });

  test('encrypt, decrypt, wrap, unwrap, sign and verify on the server', async () => {
    const key = await client.createRsaKey('crypto');
    const crypto = client.getCryptographyClient('crypto');
    const data = Buffer.from('atrest data key 0123456789abcdef');
    for (const algorithm of ['RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5']) {
      const enc = await crypto.encrypt({algorithm, plaintext: data});
      const dec = await crypto.decrypt({algorithm, ciphertext: enc.result});
      assert.deepEqual(Buffer.from(dec.result), data);
      const wrapped = await crypto.wrapKey(algorithm, data);
      const unwrapped = await crypto.unwrapKey(algorithm, wrapped.result);
      assert.deepEqual(Buffer.from(unwrapped.result), data);
    }
    // Ciphertext made outside the vault with the public key (RSA-OAEP-256).
    const pub = createPublicKey({key: {kty: 'RSA',
      n: Buffer.from(key.key.n).toString('base64url'),
      e: Buffer.from(key.key.e).toString('base64url')}, format: 'jwk'});
    const outside = publicEncrypt({key: pub, oaepHash: 'sha256',
                                   padding: constants.RSA_PKCS1_OAEP_PADDING}, data);
    const unwrapped = await crypto.unwrapKey('RSA-OAEP-256', outside);
    assert.deepEqual(Buffer.from(unwrapped.result), data);
    assert.equal(unwrapped.keyID, key.id);

    const digest = createHash('sha256').update('message').digest();
    for (const algorithm of ['RS256', 'PS256']) {
      const sig = await crypto.sign(algorithm, digest);
      assert.ok((await crypto.verify(algorithm, digest, sig.result)).result);
      const tampered = Buffer.from(sig.result);
      tampered[0] ^= 1;
      assert.equal((await crypto.verify(algorithm, digest, tampered)).result, false);
    }
    const sig = await crypto.sign('RS256', digest);
    assert.ok(nodeVerify('sha256', Buffer.from('message'), pub, Buffer.from(sig.result)));
    await assert.rejects(crypto.decrypt({algorithm: 'RSA-OAEP', ciphertext: Buffer.alloc(256, 7)}),
                         (e) => e.statusCode === 400 && e.code === 'BadParameter');
  });

  test('delete and recover pollers, deleted listing, purge', async () => {
    await client.createRsaKey('doomed');
    const poller = await client.beginDeleteKey('doomed', {intervalInMs: 50});
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, 'doomed');
    assert.equal(deleted.properties.recoveryId,
                 `${vaultUrl('kv-main')}/deletedkeys/doomed`);
    assert.equal(deleted.properties.scheduledPurgeDate - deleted.properties.deletedOn,
                 7 * 86400 * 1000);
    await assert.rejects(client.getKey('doomed'),
                         (e) => e.statusCode === 404 && e.code === 'KeyNotFound');
    // The name cannot be reused while the key is deleted.
    await assert.rejects(client.createRsaKey('doomed'), (e) =>
        e.statusCode === 409 && e.code === 'Conflict' &&
        inner(e) === 'ObjectIsDeletedButRecoverable');
    const listed = [];
    for await (const d of client.listDeletedKeys()) listed.push(d.name);
    assert.ok(listed.includes('doomed'));
    assert.equal((await client.getDeletedKey('doomed')).name, 'doomed');

    const recover = await client.beginRecoverDeletedKey('doomed', {intervalInMs: 50});
    assert.equal((await recover.pollUntilDone()).name, 'doomed');
    assert.equal((await client.getKey('doomed')).name, 'doomed');

    await (await client.beginDeleteKey('doomed', {intervalInMs: 50})).pollUntilDone();
    await client.purgeDeletedKey('doomed');
    await assert.rejects(client.getDeletedKey('doomed'), (e) => e.statusCode === 404);
    await client.createRsaKey('doomed');  // The name is free again.
  });

  test('backup and restore bring back every version', async () => {
    const v1 = await client.createRsaKey('saved');
    await client.createRsaKey('saved');
    const blob = await client.backupKey('saved');
    assert.ok(blob.length > 512);
    // The blob holds no key material in the clear.
    const crypto = client.getCryptographyClient('saved');
    const wrapped = await crypto.wrapKey('RSA-OAEP-256', Buffer.from('k'.repeat(32)));
    await assert.rejects(client.restoreKeyBackup(blob),
                         (e) => e.statusCode === 409);
    await (await client.beginDeleteKey('saved', {intervalInMs: 50})).pollUntilDone();
    await client.purgeDeletedKey('saved');
    const restored = await client.restoreKeyBackup(blob);
    assert.equal(restored.name, 'saved');
    const versions = [];
    for await (const v of client.listPropertiesOfKeyVersions('saved')) versions.push(v.version);
    assert.equal(versions.length, 2);
    assert.ok(versions.includes(v1.properties.version));
    const back = await client.getCryptographyClient('saved')
        .unwrapKey('RSA-OAEP-256', wrapped.result);
    assert.equal(Buffer.from(back.result).toString(), 'k'.repeat(32));
    const bad = Buffer.from(blob);
    bad[bad.length - 1] ^= 1;
    await assert.rejects(client.restoreKeyBackup(bad), (e) => e.statusCode === 400);
  });

  test('rotate by hand and by policy, import, random bytes', async () => {
    const before = await client.createRsaKey('rotating');
    const rotated = await client.rotateKey('rotating');
    assert.notEqual(rotated.properties.version, before.properties.version);
    const policy = await client.updateKeyRotationPolicy('rotating', {
      lifetimeActions: [{action: 'Rotate', timeAfterCreate: 'P30D'}],
      expiresIn: 'P90D'});
    assert.equal(policy.expiresIn, 'P90D');
    // The service adds its default Notify action.
    assert.deepEqual(policy.lifetimeActions.map((a) => a.action).sort(),
                     ['Notify', 'Rotate']);
    const read = await client.getKeyRotationPolicy('rotating');
    assert.equal(read.lifetimeActions.length, 2);

    const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
    const jwk = privateKey.export({format: 'jwk'});
    const toBytes = (s) => Buffer.from(s, 'base64url');
    const imported = await client.importKey('imported', {
      kty: 'RSA', keyOps: ['decrypt', 'unwrapKey'],
      n: toBytes(jwk.n), e: toBytes(jwk.e), d: toBytes(jwk.d), p: toBytes(jwk.p),
      q: toBytes(jwk.q), dp: toBytes(jwk.dp), dq: toBytes(jwk.dq), qi: toBytes(jwk.qi)});
    assert.deepEqual(Buffer.from(imported.key.n), toBytes(jwk.n));
    assert.deepEqual(imported.keyOperations, ['decrypt', 'unwrapKey']);
    const outside = publicEncrypt({key: privateKey, oaepHash: 'sha256'}, Buffer.from('hi'));
    const dec = await client.getCryptographyClient('imported')
        .decrypt({algorithm: 'RSA-OAEP-256', ciphertext: outside});
    assert.equal(Buffer.from(dec.result).toString(), 'hi');

    const random = await client.getRandomBytes(32);
    assert.equal(random.length, 32);
    await assert.rejects(client.getRandomBytes(129), (e) => e.statusCode === 400);
  });
});

describe('RSA-HSM keys in the PKCS#11 token', () => {
  test('premium vault: create, use, and no private key ever leaves', async () => {
    await createVault('kv-hsm', {sku: {family: 'A', name: 'premium'}});
    const client = keyClient('kv-hsm');
    const key = await client.createRsaKey('hsm-key', {hsm: true, keySize: 2048});
    assert.equal(key.keyType, 'RSA-HSM');
    assert.equal(key.key.d, undefined);
    const crypto = client.getCryptographyClient('hsm-key');
    const data = Buffer.from('0123456789abcdef0123456789abcdef');
    for (const algorithm of ['RSA-OAEP', 'RSA-OAEP-256']) {
      const wrapped = await crypto.wrapKey(algorithm, data);
      const back = await crypto.unwrapKey(algorithm, wrapped.result);
      assert.deepEqual(Buffer.from(back.result), data);
    }
    const digest = createHash('sha256').update('m').digest();
    const sig = await crypto.sign('PS256', digest);
    assert.ok((await crypto.verify('PS256', digest, sig.result)).result);
    // No export: neither a backup nor a release hands out the key.
    await assert.rejects(client.backupKey('hsm-key'), (e) => e.statusCode === 400);
    await assert.rejects(client.releaseKey('hsm-key', 'attestation'),
                         (e) => e.statusCode === 403);
    const rotated = await client.rotateKey('hsm-key');
    assert.equal(rotated.keyType, 'RSA-HSM');
  });

  test('import with hardwareProtected unwraps the key into the token', async () => {
    const client = keyClient('kv-hsm');
    const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
    const jwk = privateKey.export({format: 'jwk'});
    const toBytes = (s) => Buffer.from(s, 'base64url');
    const imported = await client.importKey('hsm-imported', {
      kty: 'RSA', keyOps: ['decrypt', 'unwrapKey', 'sign'],
      n: toBytes(jwk.n), e: toBytes(jwk.e), d: toBytes(jwk.d), p: toBytes(jwk.p),
      q: toBytes(jwk.q), dp: toBytes(jwk.dp), dq: toBytes(jwk.dq), qi: toBytes(jwk.qi),
    }, {hardwareProtected: true});
    assert.equal(imported.keyType, 'RSA-HSM');
    assert.deepEqual(Buffer.from(imported.key.n), toBytes(jwk.n));
    assert.equal(imported.key.d, undefined);
    // The token decrypts what the outside key encrypted, and signs so that
    // the outside public key verifies it.
    const outside = publicEncrypt({key: privateKey, oaepHash: 'sha256'}, Buffer.from('in hsm'));
    const crypto = client.getCryptographyClient('hsm-imported');
    const dec = await crypto.decrypt({algorithm: 'RSA-OAEP-256', ciphertext: outside});
    assert.equal(Buffer.from(dec.result).toString(), 'in hsm');
    const message = Buffer.from('signed in the token');
    const sig = await crypto.sign('RS256', createHash('sha256').update(message).digest());
    assert.ok(nodeVerify('sha256', message, privateKey, Buffer.from(sig.result)));
    // Still no way out.
    await assert.rejects(client.backupKey('hsm-imported'), (e) => e.statusCode === 400);
  });

  test('a standard vault refuses HSM keys', async () => {
    await assert.rejects(keyClient('kv-main').createRsaKey('nohsm', {hsm: true}),
        (e) => e.statusCode === 400 &&
            /Hardware key operation not allowed/.test(e.message));
  });
});

describe('refusals', () => {
  let other;  // A service principal with no access policy at first.
  before(async () => {
    const out = JSON.parse(atrest(['ad', '--data-dir', server.dataDir, 'sp',
                                   'create-for-rbac', '--name', 'kv-user']));
    other = credentialFor({tenantId: out.tenant, clientId: out.appId,
                           clientSecret: out.password});
    const list = JSON.parse(atrest(['ad', '--data-dir', server.dataDir, 'sp', 'list']));
    other.objectId = list.find((p) => p.appId === out.appId).id;
  });

  test('no token: 401 with the challenge the SDKs parse', async () => {
    const res = await fetch(`${vaultUrl('kv-main')}/keys?api-version=7.5`);
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate');
    assert.equal(challenge,
                 `Bearer authorization="${server.origin('login')}/` +
                 `${server.creds.tenantId}", resource="${server.origin('vault')}"`);
    assert.equal((await res.json()).error.code, 'Unauthorized');
  });

  test('missing permission per operation: 403 ForbiddenByPolicy', async () => {
    const client = keyClient('kv-main', other);
    await assert.rejects(client.getKey('crypto'), (e) =>
        e.statusCode === 403 && e.code === 'Forbidden' &&
        inner(e) === 'ForbiddenByPolicy' &&
        /does not have keys get permission/.test(e.message));
    const token = await armToken();
    const url = `${server.origin('management')}/subscriptions/` +
        `${server.creds.subscriptionId}/resourceGroups/kv/providers/` +
        'Microsoft.KeyVault/vaults/kv-main/accessPolicies/add?api-version=2023-07-01';
    const res = await fetch(url, {method: 'PUT', headers: {
      authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    body: JSON.stringify({properties: {accessPolicies: [{
      tenantId: server.creds.tenantId, objectId: other.objectId,
      permissions: {keys: ['get', 'unwrapKey']}}]}})});
    assert.ok(res.ok, `${res.status}`);
    assert.equal((await client.getKey('crypto')).name, 'crypto');
    const crypto = new CryptographyClient(
        (await client.getKey('crypto')).id, other);
    await assert.rejects(crypto.sign('RS256', Buffer.alloc(32)), (e) =>
        e.statusCode === 403 && /does not have keys sign permission/.test(e.message));
    await assert.rejects(client.beginDeleteKey('crypto'), (e) => e.statusCode === 403);
  });

  test('disabled key and key outside nbf/exp refuse operations', async () => {
    const client = keyClient('kv-main');
    // The SDK refuses such keys itself before asking (reference §3.7), so
    // these go over the wire directly, as another client would send them.
    const token = (await admin.getToken(`${server.origin('vault')}/.default`)).token;
    const digest = Buffer.alloc(32, 1);
    const sign = (name) => fetch(
        `${vaultUrl('kv-main')}/keys/${name}//sign?api-version=7.5`, {
          method: 'POST', headers: {authorization: `Bearer ${token}`,
                                    'content-type': 'application/json'},
          body: JSON.stringify({alg: 'RS256', value: digest.toString('base64url')})});
    await client.createRsaKey('early', {notBefore: new Date(Date.now() + 3600e3)});
    await client.createRsaKey('late', {expiresOn: new Date(Date.now() - 3600e3)});
    await client.createRsaKey('off', {enabled: false});
    for (const [name, code] of [['early', 'KeyNotYetValid'], ['late', 'KeyExpired'],
                                ['off', 'KeyDisabled']]) {
      const res = await sign(name);
      assert.equal(res.status, 403, name);
      assert.equal((await res.json()).error.innererror.code, code);
    }
    // Enabled again, it works.
    await client.updateKeyProperties('off', {enabled: true});
    assert.equal((await sign('off')).status, 200);
  });

  test('unknown api-version and malformed bodies are 400 BadParameter', async () => {
    const token = (await admin.getToken(`${server.origin('vault')}/.default`)).token;
    const headers = {authorization: `Bearer ${token}`, 'content-type': 'application/json'};
    let res = await fetch(`${vaultUrl('kv-main')}/keys?api-version=9.9`, {headers});
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /version \(9\.9\) is not recognized/);
    res = await fetch(`${vaultUrl('kv-main')}/keys/x/create?api-version=7.5`,
                      {method: 'POST', headers, body: '{not json'});
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'BadParameter');
    res = await fetch(`${vaultUrl('kv-main')}/keys/crypto//unwrapkey?api%2Dversion=7.5`,
                      {method: 'POST', headers,
                       body: JSON.stringify({alg: 'RSA-OAEP-256', value: '***'})});
    assert.equal(res.status, 400);
  });

  test('firewall: deny by default, allow by IP rule', async () => {
    await createVault('kv-fw', {networkAcls: {defaultAction: 'Deny',
                                              bypass: 'AzureServices',
                                              ipRules: [{value: '10.0.0.0/8'}]}});
    await assert.rejects(keyClient('kv-fw').createRsaKey('k'), (e) =>
        e.statusCode === 403 &&
        inner(e) === 'ForbiddenByFirewall');
    await createVault('kv-fw', {networkAcls: {defaultAction: 'Deny',
                                              ipRules: [{value: '127.0.0.1'}]}});
    assert.equal((await keyClient('kv-fw').createRsaKey('k')).name, 'k');
  });

  test('RBAC vault ignores access policies and checks roles', async () => {
    await createVault('kv-rbac', {enableRbacAuthorization: true, accessPolicies: []});
    await assert.rejects(keyClient('kv-rbac').createRsaKey('k'), (e) =>
        e.statusCode === 403 &&
        inner(e) === 'ForbiddenByRbac');
    const token = await armToken();
    const scope = `/subscriptions/${server.creds.subscriptionId}/resourceGroups/kv/` +
        'providers/Microsoft.KeyVault/vaults/kv-rbac';
    const res = await fetch(`${server.origin('management')}${scope}/providers/` +
        'Microsoft.Authorization/roleAssignments/3d5c1c56-0b1a-4d43-9b6c-6a0a4b1e2f01' +
        '?api-version=2022-04-01', {method: 'PUT', headers: {
      authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    body: JSON.stringify({properties: {
      roleDefinitionId: `/subscriptions/${server.creds.subscriptionId}/providers/` +
          'Microsoft.Authorization/roleDefinitions/14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
      principalId: server.creds.objectId}})});
    assert.ok(res.ok, `${res.status} ${await res.text()}`);
    assert.equal((await keyClient('kv-rbac').createRsaKey('k')).name, 'k');
  });

  test('purge protection refuses purge of a deleted key', async () => {
    await createVault('kv-pp', {enablePurgeProtection: true});
    const client = keyClient('kv-pp');
    await client.createRsaKey('kept');
    await (await client.beginDeleteKey('kept', {intervalInMs: 50})).pollUntilDone();
    await assert.rejects(client.purgeDeletedKey('kept'), (e) =>
        e.statusCode === 403 && /purge protection is enabled/.test(e.message));
    assert.equal((await client.getDeletedKey('kept')).properties.recoveryLevel,
                 'Recoverable');
  });
});

describe('observability', () => {
  test('/metrics counts vault operations by result; the audit log has them',
       async () => {
         const text = await (await fetch(`${server.origin('')}/metrics`, {
           headers: {authorization: `Bearer ${server.metricsToken()}`},
         })).text();
         assert.match(text,
             /atrest_vault_operations_total\{operation="KeyUnwrap",result="Success"\} [1-9]/);
         assert.match(text,
             /atrest_vault_operations_total\{operation="KeyGet",result="ForbiddenByPolicy"\} [1-9]/);
         assert.match(text, /atrest_vault_operation_seconds_bucket\{operation="KeySign"/);
       });
});
