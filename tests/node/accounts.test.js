// AI accounts (Microsoft.CognitiveServices/accounts, kind OpenAI) on the
// management plane through @azure/arm-cognitiveservices exactly as an Azure
// user runs it (reference/azure-openai-api.md §3.1-3.2): create, update,
// get, list, delete, API keys, the system-assigned identity, the always
// present properties.encryption and atrest's properties.encryptionStatus,
// and moving accounts between groups (ARM moveResources, which
// @azure/arm-resources speaks).
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {CognitiveServicesManagementClient} from '@azure/arm-cognitiveservices';
import {ResourceManagementClient} from '@azure/arm-resources';
import {ClientSecretCredential} from '@azure/identity';

import {atrest, startServer} from './support/atrest.js';

const API = '2024-10-01';  // ARM api-version for raw requests.
const DATA_API = '2024-10-21';  // Azure OpenAI dated data-plane version.
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let server;
let credential;
let sub;
let cs;  // CognitiveServicesManagementClient of the administrator.
let rm;  // ResourceManagementClient of the administrator.

const rg = 'rg-ai';
const otherRg = 'rg-ai-2';

function credentialFor(creds) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId,
                                    creds.clientSecret, {
                                      authorityHost: server.origin('login'),
                                      disableInstanceDiscovery: true,
                                    });
}

function csClient(cred = credential) {
  return new CognitiveServicesManagementClient(cred, sub, {
    endpoint: server.origin('management'),
  });
}

async function token(cred = credential) {
  return (await cred.getToken(`${server.origin('management')}/.default`))
      .token;
}

async function armFetch(path, {method = 'GET', body, auth = true} = {}) {
  const headers = {'content-type': 'application/json'};
  if (auth) headers.authorization = `Bearer ${await token()}`;
  const res = await fetch(`${server.origin('management')}${path}`, {
    method, headers, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = {text}; }
  return {status: res.status, headers: res.headers, json};
}

function accountPath(name, group = rg, subscription = sub) {
  return `/subscriptions/${subscription}/resourceGroups/${group}/providers/` +
      `Microsoft.CognitiveServices/accounts/${name}`;
}

function endpointOf(name) { return `${server.origin(`${name}.openai`)}/`; }

async function create(name, extra = {}, group = rg) {
  return cs.accounts.beginCreateAndWait(group, name, {
    location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'}, ...extra});
}

/** Asserts that `promise` fails with this HTTP status (and ARM code). */
async function refused(promise, statusCode, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.statusCode, statusCode, e.message);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

/** The account's two API keys (and nothing else the response has). */
async function keysOf(group, name) {
  const k = await cs.accounts.listKeys(group, name);
  return {key1: k.key1, key2: k.key2};
}

/** GET /openai/files with an api key on the account's data plane. */
async function dataPlaneStatus(name, key) {
  const res = await fetch(
      `${endpointOf(name)}openai/files?api-version=${DATA_API}`,
      {headers: {'api-key': key}});
  await res.arrayBuffer();
  return res.status;
}

function isTime(v) {
  return (typeof v === 'number' && v > 0) ||
      (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
}

before(async () => {
  server = await startServer();
  credential = credentialFor(server.creds);
  sub = server.creds.subscriptionId;
  cs = csClient();
  rm = new ResourceManagementClient(credential, sub,
                                    {endpoint: server.origin('management')});
  await rm.resourceGroups.createOrUpdate(rg, {location: 'westeurope'});
  await rm.resourceGroups.createOrUpdate(otherRg, {location: 'eastus'});
});
after(async () => { await server?.stop(); });

describe('accounts', () => {
  test('create: envelope, endpoint, Succeeded, encryption always emitted',
       async () => {
    const a = await create('ai-main', {
      location: 'West Europe', tags: {team: 'ml'},
      properties: {customSubDomainName: 'ai-main'}});
    assert.equal(a.id, accountPath('ai-main'));
    assert.equal(a.name, 'ai-main');
    assert.equal(a.type, 'Microsoft.CognitiveServices/accounts');
    assert.equal(a.location, 'westeurope');
    assert.equal(a.kind, 'OpenAI');
    assert.equal(a.sku.name, 'S0');
    assert.deepEqual(a.tags, {team: 'ml'});
    const p = a.properties;
    assert.equal(p.provisioningState, 'Succeeded');
    assert.equal(p.endpoint, endpointOf('ai-main'));
    // The SDK would fill in Microsoft.KeyVault for a missing keySource, so
    // this also checks that the server emits it.
    assert.equal(p.encryption.keySource, 'Microsoft.CognitiveServices');
    assert.equal(p.encryptionStatus.state, 'active');
    assert.equal(p.encryptionStatus.keySource, 'Microsoft.CognitiveServices');
    // No identity asked for: none, or type None.
    assert.ok(!a.identity || a.identity.type === 'None',
              JSON.stringify(a.identity));
    assert.equal(a.identity?.principalId, undefined);
  });

  test('raw GET: encryption.keySource is in the JSON itself', async () => {
    const res = await armFetch(`${accountPath('ai-main')}?api-version=${API}`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.properties.encryption.keySource,
                 'Microsoft.CognitiveServices');
    assert.equal(res.json.properties.provisioningState, 'Succeeded');
    assert.equal(res.json.properties.encryptionStatus.state, 'active');
    assert.ok(isTime(res.json.properties.encryptionStatus.since),
              JSON.stringify(res.json.properties.encryptionStatus));
  });

  test('PUT answers 201 when it creates and 200 when it replaces, ' +
       'synchronously', async () => {
    const path = `${accountPath('ai-put')}?api-version=${API}`;
    const body = {location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'},
                  properties: {}};
    let res = await armFetch(path, {method: 'PUT', body});
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.headers.get('azure-asyncoperation'), null);
    assert.equal(res.json.properties.provisioningState, 'Succeeded');
    res = await armFetch(path, {method: 'PUT', body: {...body, tags: {a: 'b'}}});
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.name, 'ai-put');
    assert.deepEqual(res.json.tags, {a: 'b'});
  });

  test('get, and 404 ResourceNotFound for an absent account', async () => {
    const a = await cs.accounts.get(rg, 'ai-main');
    assert.equal(a.id, accountPath('ai-main'));
    assert.equal(a.properties.endpoint, endpointOf('ai-main'));
    await refused(cs.accounts.get(rg, 'ai-absent'), 404, 'ResourceNotFound');
    // The right name in the wrong group is not found either.
    await refused(cs.accounts.get(otherRg, 'ai-main'), 404,
                  'ResourceNotFound');
  });

  test('update (PATCH) changes only what it names', async () => {
    const a = await cs.accounts.beginUpdateAndWait(
        rg, 'ai-main', {tags: {team: 'ml', env: 'test'}});
    assert.deepEqual(a.tags, {team: 'ml', env: 'test'});
    assert.equal(a.kind, 'OpenAI');
    assert.equal(a.sku.name, 'S0');
    assert.equal(a.location, 'westeurope');
    assert.equal(a.properties.provisioningState, 'Succeeded');
    assert.equal(a.properties.encryption.keySource,
                 'Microsoft.CognitiveServices');
    assert.deepEqual((await cs.accounts.get(rg, 'ai-main')).tags,
                     {team: 'ml', env: 'test'});
  });

  test('the location of an account cannot change', async () => {
    await refused(create('ai-main', {location: 'eastus'}), 400);
    assert.equal((await cs.accounts.get(rg, 'ai-main')).location,
                 'westeurope');
  });

  test('list by resource group and by subscription', async () => {
    await create('ai-east', {location: 'eastus'}, otherRg);
    const names = async (iter) => {
      const out = [];
      for await (const a of iter) out.push(a.name);
      return out.sort();
    };
    assert.deepEqual(await names(cs.accounts.listByResourceGroup(rg)),
                     ['ai-main', 'ai-put']);
    assert.deepEqual(await names(cs.accounts.listByResourceGroup(otherRg)),
                     ['ai-east']);
    assert.deepEqual(await names(cs.accounts.list()),
                     ['ai-east', 'ai-main', 'ai-put']);
    for await (const a of cs.accounts.list()) {
      assert.equal(a.properties.provisioningState, 'Succeeded');
      assert.equal(a.properties.encryption.keySource,
                   'Microsoft.CognitiveServices');
      assert.equal(a.properties.endpoint, endpointOf(a.name));
    }
    await refused(
        (async () => { for await (const a of cs.accounts.listByResourceGroup(
                          'rg-missing')) void a; })(),
        404, 'ResourceGroupNotFound');
  });

  test('listKeys and regenerateKey; the data plane follows', async () => {
    const keys = await cs.accounts.listKeys(rg, 'ai-main');
    assert.ok(keys.key1 && keys.key2);
    assert.notEqual(keys.key1, keys.key2);
    assert.deepEqual(await keysOf(rg, 'ai-main'),
                     {key1: keys.key1, key2: keys.key2});
    // The keys of another account are others.
    const east = await cs.accounts.listKeys(otherRg, 'ai-east');
    assert.ok(![keys.key1, keys.key2].includes(east.key1));

    assert.equal(await dataPlaneStatus('ai-main', keys.key1), 200);
    assert.equal(await dataPlaneStatus('ai-main', keys.key2), 200);
    const again = await cs.accounts.regenerateKey(rg, 'ai-main', 'Key1');
    assert.notEqual(again.key1, keys.key1);
    assert.equal(again.key2, keys.key2);
    assert.deepEqual(await keysOf(rg, 'ai-main'),
                     {key1: again.key1, key2: again.key2});
    assert.equal(await dataPlaneStatus('ai-main', keys.key1), 401);
    assert.equal(await dataPlaneStatus('ai-main', again.key1), 200);
    assert.equal(await dataPlaneStatus('ai-main', again.key2), 200);
    const third = await cs.accounts.regenerateKey(rg, 'ai-main', 'Key2');
    assert.equal(third.key1, again.key1);
    assert.notEqual(third.key2, again.key2);
    assert.equal(await dataPlaneStatus('ai-main', again.key2), 401);

    const res = await armFetch(
        `${accountPath('ai-main')}/regenerateKey?api-version=${API}`,
        {method: 'POST', body: {keyName: 'Key3'}});
    assert.equal(res.status, 400, JSON.stringify(res.json));
  });

  test('system-assigned identity: on, off, on again with a new principal',
       async () => {
    let a = await cs.accounts.beginUpdateAndWait(
        rg, 'ai-main', {identity: {type: 'SystemAssigned'}});
    assert.equal(a.identity.type, 'SystemAssigned');
    assert.match(a.identity.principalId, GUID);
    assert.equal(a.identity.tenantId, server.creds.tenantId);
    const first = a.identity.principalId;
    // Enabling again keeps the same principal.
    a = await cs.accounts.beginUpdateAndWait(
        rg, 'ai-main', {identity: {type: 'SystemAssigned'}});
    assert.equal(a.identity.principalId, first);
    assert.equal((await cs.accounts.get(rg, 'ai-main')).identity.principalId,
                 first);

    a = await cs.accounts.beginUpdateAndWait(
        rg, 'ai-main', {identity: {type: 'None'}});
    assert.ok(!a.identity || a.identity.type === 'None',
              JSON.stringify(a.identity));
    assert.equal(a.identity?.principalId, undefined);

    a = await cs.accounts.beginUpdateAndWait(
        rg, 'ai-main', {identity: {type: 'SystemAssigned'}});
    assert.match(a.identity.principalId, GUID);
    assert.notEqual(a.identity.principalId, first);

    // At creation too.
    const b = await create('ai-ident', {identity: {type: 'SystemAssigned'}});
    assert.equal(b.identity.type, 'SystemAssigned');
    assert.match(b.identity.principalId, GUID);
    assert.notEqual(b.identity.principalId, a.identity.principalId);
  });

  test('user-assigned identities are refused', async () => {
    const uai = `/subscriptions/${sub}/resourceGroups/${rg}/providers/` +
        'Microsoft.ManagedIdentity/userAssignedIdentities/uai';
    for (const type of ['UserAssigned', 'SystemAssigned, UserAssigned']) {
      await refused(cs.accounts.beginUpdateAndWait(rg, 'ai-main', {
        identity: {type, userAssignedIdentities: {[uai]: {}}}}), 400,
                    'UserAssignedIdentityNotSupported');
    }
  });

  test('encryption: service-managed stays as it is; a PATCH to it is fine',
       async () => {
    const a = await cs.accounts.beginUpdateAndWait(rg, 'ai-main', {
      properties: {encryption: {keySource: 'Microsoft.CognitiveServices'}}});
    assert.equal(a.properties.encryption.keySource,
                 'Microsoft.CognitiveServices');
    assert.equal(a.properties.encryption.keyVaultProperties?.keyName ?? '', '');
    assert.equal(a.properties.encryptionStatus.state, 'active');
    const res = await armFetch(`${accountPath('ai-main')}?api-version=${API}`,
                               {method: 'PATCH', body: {properties: {
                                 encryption: {keySource: 'Nonsense'}}}});
    assert.equal(res.status, 400, JSON.stringify(res.json));
  });

  test('account names are DNS labels', async () => {
    for (const name of ['a', 'bad_name', 'bad.name', '-bad', 'bad-',
                        'x'.repeat(65)]) {
      await assert.rejects(create(name), (e) => {
        // The SDK itself refuses some names before sending anything.
        if (e.statusCode === undefined) return true;
        assert.equal(e.statusCode, 400, `${name}: ${e.message}`);
        return true;
      }, name);
    }
    // Raw requests reach the server for every name. A DNS label has at
    // most 63 octets (RFC 1035 §2.3.4): a 64-character name would make an
    // endpoint host that clients cannot use (Python's idna codec refuses
    // it: "label empty or too long"), though ARM's own pattern allows 64.
    for (const name of ['bad_name', 'bad.name', '-bad', 'x'.repeat(64)]) {
      const res = await armFetch(`${accountPath(name)}?api-version=${API}`, {
        method: 'PUT',
        body: {location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'}}});
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.json)}`);
      assert.ok(res.json.error?.code, JSON.stringify(res.json));
    }
    assert.equal((await create('y'.repeat(63))).name, 'y'.repeat(63));
    const ok = await create('Ok-Name-2');
    assert.equal(ok.properties.endpoint.toLowerCase(),
                 endpointOf('ok-name-2').toLowerCase());
  });

  test('account names are unique over the service (they name the endpoint)',
       async () => {
    await refused(create('ai-main', {}, otherRg), 409);
    await refused(create('AI-MAIN', {}, otherRg), 409);
  });

  test('an account in a missing resource group', async () => {
    await refused(create('ai-nogroup', {}, 'rg-missing'), 404,
                  'ResourceGroupNotFound');
  });

  test('a Reader can read accounts but not change them or read their keys',
       async () => {
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, 'sp', 'create-for-rbac', '--name',
      'ai-reader', '--role', 'Reader', '--scopes', `/subscriptions/${sub}`]));
    const reader = csClient(credentialFor(
        {tenantId: sp.tenant, clientId: sp.appId, clientSecret: sp.password}));
    assert.equal((await reader.accounts.get(rg, 'ai-main')).name, 'ai-main');
    await refused(reader.accounts.listKeys(rg, 'ai-main'), 403,
                  'AuthorizationFailed');
    await refused(reader.accounts.regenerateKey(rg, 'ai-main', 'Key1'), 403,
                  'AuthorizationFailed');
    await refused(reader.accounts.beginCreateAndWait(rg, 'ai-reader', {
      location: 'westeurope', kind: 'OpenAI', sku: {name: 'S0'}}),
                  403, 'AuthorizationFailed');
    await refused(reader.accounts.beginUpdateAndWait(rg, 'ai-main',
                                                     {tags: {x: 'y'}}),
                  403, 'AuthorizationFailed');
    await refused(reader.accounts.beginDeleteAndWait(rg, 'ai-main'), 403,
                  'AuthorizationFailed');
    // A principal with no role at all sees nothing.
    const none = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, 'sp', 'create-for-rbac', '--name',
      'ai-nobody']));
    const nobody = csClient(credentialFor({tenantId: none.tenant,
                                           clientId: none.appId,
                                           clientSecret: none.password}));
    await refused(nobody.accounts.get(rg, 'ai-main'), 403,
                  'AuthorizationFailed');
  });

  test('api-version and a token are required', async () => {
    let res = await armFetch(accountPath('ai-main'));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'MissingApiVersionParameter');
    res = await armFetch(`${accountPath('ai-main')}?api-version=${API}`,
                         {auth: false});
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'AuthenticationFailed');
  });

  test('moveResources moves an account to another group, keys and ' +
       'identity kept', async () => {
    const before = await create('ai-mover',
                                {identity: {type: 'SystemAssigned'}});
    const keys = await cs.accounts.listKeys(rg, 'ai-mover');
    await rm.resources.beginMoveResourcesAndWait(rg, {
      resources: [accountPath('ai-mover')],
      targetResourceGroup: `/subscriptions/${sub}/resourceGroups/${otherRg}`,
    });
    await refused(cs.accounts.get(rg, 'ai-mover'), 404, 'ResourceNotFound');
    const moved = await cs.accounts.get(otherRg, 'ai-mover');
    assert.equal(moved.id, accountPath('ai-mover', otherRg));
    assert.equal(moved.location, 'westeurope');  // Accounts keep theirs.
    assert.equal(moved.identity.principalId, before.identity.principalId);
    assert.equal(moved.properties.endpoint, endpointOf('ai-mover'));
    assert.deepEqual(await keysOf(otherRg, 'ai-mover'),
                     {key1: keys.key1, key2: keys.key2});
    assert.equal(await dataPlaneStatus('ai-mover', keys.key1), 200);

    // The same through a raw request, back again: 202 or 204, no body
    // needed.
    const res = await armFetch(
        `/subscriptions/${sub}/resourceGroups/${otherRg}/moveResources` +
            '?api-version=2021-04-01',
        {method: 'POST', body: {
          resources: [accountPath('ai-mover', otherRg)],
          targetResourceGroup: `/subscriptions/${sub}/resourceGroups/${rg}`}});
    assert.ok([200, 202, 204].includes(res.status),
              `${res.status} ${JSON.stringify(res.json)}`);
    assert.equal((await cs.accounts.get(rg, 'ai-mover')).id,
                 accountPath('ai-mover'));

    // An account that is not in the source group cannot be moved from it.
    await assert.rejects(rm.resources.beginMoveResourcesAndWait(otherRg, {
      resources: [accountPath('ai-mover', otherRg)],
      targetResourceGroup: `/subscriptions/${sub}/resourceGroups/${rg}`,
    }), (e) => e.statusCode >= 400 && e.statusCode < 500);
    // Nor moved into a group that does not exist.
    await assert.rejects(rm.resources.beginMoveResourcesAndWait(rg, {
      resources: [accountPath('ai-mover')],
      targetResourceGroup: `/subscriptions/${sub}/resourceGroups/rg-missing`,
    }), (e) => e.statusCode >= 400 && e.statusCode < 500);
    assert.equal((await cs.accounts.get(rg, 'ai-mover')).name, 'ai-mover');
  });

  test('delete: the account, its keys and its endpoint are gone; the ' +
       'name is free again', async () => {
    await create('ai-gone', {identity: {type: 'SystemAssigned'}});
    const keys = await cs.accounts.listKeys(rg, 'ai-gone');
    assert.equal(await dataPlaneStatus('ai-gone', keys.key1), 200);
    await cs.accounts.beginDeleteAndWait(rg, 'ai-gone');
    await refused(cs.accounts.get(rg, 'ai-gone'), 404, 'ResourceNotFound');
    await refused(cs.accounts.listKeys(rg, 'ai-gone'), 404,
                  'ResourceNotFound');
    const status = await dataPlaneStatus('ai-gone', keys.key1);
    assert.ok([401, 404].includes(status), `status ${status}`);
    // Deleting what is gone is fine for the SDK (204 or 404 are both
    // what ARM does; the SDK accepts 204).
    const res = await armFetch(`${accountPath('ai-gone')}?api-version=${API}`,
                               {method: 'DELETE'});
    assert.ok([204, 404].includes(res.status), `${res.status}`);
    // A new account of that name is another account with other keys.
    await create('ai-gone', {}, otherRg);
    const fresh = await cs.accounts.listKeys(otherRg, 'ai-gone');
    assert.ok(![fresh.key1, fresh.key2].includes(keys.key1));
    assert.equal(await dataPlaneStatus('ai-gone', keys.key1), 401);
  });

  test('deleting the resource group deletes its accounts', async () => {
    await rm.resourceGroups.createOrUpdate('rg-ai-doomed',
                                           {location: 'westeurope'});
    await create('ai-doomed', {}, 'rg-ai-doomed');
    await rm.resourceGroups.beginDeleteAndWait('rg-ai-doomed');
    const names = [];
    for await (const a of cs.accounts.list()) names.push(a.name);
    assert.ok(!names.includes('ai-doomed'), names.join());
    await rm.resourceGroups.createOrUpdate('rg-ai-doomed',
                                           {location: 'westeurope'});
    await refused(cs.accounts.get('rg-ai-doomed', 'ai-doomed'), 404,
                  'ResourceNotFound');
    assert.equal((await create('ai-doomed')).name, 'ai-doomed');
  });
});
