// The Key Vault management plane (Microsoft.KeyVault/vaults on
// management.<domain>) through @azure/arm-keyvault exactly as an Azure user
// runs it (reference/keyvault-api.md §5, §6), plus the atrest auditEvents
// extension (docs/keyvault.md).
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {KeyVaultManagementClient} from '@azure/arm-keyvault';
import {ResourceManagementClient} from '@azure/arm-resources';
import {ClientSecretCredential} from '@azure/identity';
import {KeyClient} from '@azure/keyvault-keys';

import {atrest, startServer} from './support/atrest.js';

let server;
let credential;
let kv;
let sub;

const rg = 'rg-vaults';
const otherRg = 'rg-vaults-2';

function credentialFor(creds, secret = creds.clientSecret) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId, secret, {
    authorityHost: server.origin('login'),
    disableInstanceDiscovery: true,
  });
}

function kvClient(cred = credential) {
  return new KeyVaultManagementClient(cred, sub, {
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
  return {status: res.status, headers: res.headers,
          json: text ? JSON.parse(text) : null};
}

function vaultPath(name, group = rg) {
  return `/subscriptions/${sub}/resourceGroups/${group}/providers/` +
      `Microsoft.KeyVault/vaults/${name}`;
}

/** The properties of a new vault, with the admin's access policy. */
function props(extra = {}) {
  return {
    tenantId: server.creds.tenantId,
    sku: {family: 'A', name: 'standard'},
    accessPolicies: [{
      tenantId: server.creds.tenantId,
      objectId: server.creds.objectId,
      permissions: {keys: ['get', 'list', 'create', 'delete', 'purge']},
    }],
    ...extra,
  };
}

// Vaults are made in their resource group's location.
const locations = {[rg]: 'westeurope', [otherRg]: 'eastus'};

async function create(name, extra = {}, group = rg) {
  return kv.vaults.beginCreateOrUpdateAndWait(
      group, name,
      {location: locations[group] ?? 'westeurope', properties: props(extra)});
}

/** Asserts that `promise` fails with this HTTP status and ARM code. */
async function refused(promise, statusCode, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.statusCode, statusCode, e.message);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

before(async () => {
  server = await startServer();
  credential = credentialFor(server.creds);
  sub = server.creds.subscriptionId;
  kv = kvClient();
  const rm = new ResourceManagementClient(
      credential, sub, {endpoint: server.origin('management')});
  await rm.resourceGroups.createOrUpdate(rg, {location: 'westeurope'});
  await rm.resourceGroups.createOrUpdate(otherRg, {location: 'eastus'});
});
after(async () => { await server?.stop(); });

describe('vaults', () => {
  test('create with access policies and network rules', async () => {
    const v = await kv.vaults.beginCreateOrUpdateAndWait(rg, 'kv-main', {
      location: 'West Europe',
      tags: {team: 'ml'},
      properties: props({
        softDeleteRetentionInDays: 30,
        networkAcls: {defaultAction: 'Deny', bypass: 'None',
                      ipRules: [{value: '10.1.2.3'}, {value: '10.9.0.0/16'}]},
      }),
    });
    assert.equal(v.id, vaultPath('kv-main'));
    assert.equal(v.name, 'kv-main');
    assert.equal(v.type, 'Microsoft.KeyVault/vaults');
    assert.equal(v.location, 'westeurope');
    assert.deepEqual(v.tags, {team: 'ml'});
    const p = v.properties;
    assert.equal(p.tenantId, server.creds.tenantId);
    assert.deepEqual(p.sku, {family: 'A', name: 'standard'});
    assert.equal(p.vaultUri, `${server.origin('kv-main.vault')}/`);
    assert.equal(p.provisioningState, 'Succeeded');
    assert.equal(p.enableSoftDelete, true);
    assert.equal(p.softDeleteRetentionInDays, 30);
    assert.equal(p.enablePurgeProtection, false);
    assert.equal(p.enableRbacAuthorization, false);
    assert.equal(p.accessPolicies.length, 1);
    assert.equal(p.accessPolicies[0].objectId, server.creds.objectId);
    assert.deepEqual(p.accessPolicies[0].permissions.keys,
                     ['get', 'list', 'create', 'delete', 'purge']);
    assert.equal(p.networkAcls.defaultAction, 'Deny');
    assert.equal(p.networkAcls.bypass, 'None');
    assert.deepEqual(p.networkAcls.ipRules.map((r) => r.value),
                     ['10.1.2.3', '10.9.0.0/16']);
  });

  test('PUT answers 201 when it creates and 200 when it replaces', async () => {
    const path = `${vaultPath('kv-put')}?api-version=2023-07-01`;
    const body = {location: 'westeurope', properties: props()};
    let res = await armFetch(path, {method: 'PUT', body});
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('azure-asyncoperation'), null);
    assert.equal(res.json.properties.provisioningState, 'Succeeded');
    res = await armFetch(path, {method: 'PUT', body});
    assert.equal(res.status, 200);
    assert.equal(res.json.name, 'kv-put');
  });

  test('get', async () => {
    const v = await kv.vaults.get(rg, 'kv-main');
    assert.equal(v.id, vaultPath('kv-main'));
    assert.equal(v.properties.softDeleteRetentionInDays, 30);
    assert.ok(v.systemData?.createdAt instanceof Date);
    await refused(kv.vaults.get(rg, 'kv-absent'), 404, 'ResourceNotFound');
  });

  test('update (PATCH) changes only what it names', async () => {
    const v = await kv.vaults.update(rg, 'kv-main', {
      tags: {team: 'ml', env: 'test'},
      properties: {enabledForDeployment: true,
                   networkAcls: {defaultAction: 'Allow'}},
    });
    assert.deepEqual(v.tags, {team: 'ml', env: 'test'});
    assert.equal(v.properties.enabledForDeployment, true);
    assert.equal(v.properties.networkAcls.defaultAction, 'Allow');
    assert.equal(v.properties.networkAcls.bypass, 'None');
    assert.equal(v.properties.networkAcls.ipRules.length, 2);
    assert.equal(v.properties.accessPolicies.length, 1);
    assert.equal(v.properties.softDeleteRetentionInDays, 30);
  });

  test('list by resource group, by subscription, and vaults.list()',
       async () => {
    await create('kv-east', {}, otherRg);
    const names = async (iter) => {
      const out = [];
      for await (const v of iter) out.push(v.name);
      return out.sort();
    };
    assert.deepEqual(await names(kv.vaults.listByResourceGroup(rg)),
                     ['kv-main', 'kv-put']);
    assert.deepEqual(await names(kv.vaults.listByResourceGroup(otherRg)),
                     ['kv-east']);
    assert.deepEqual(await names(kv.vaults.listBySubscription()),
                     ['kv-east', 'kv-main', 'kv-put']);
    // vaults.list() is Microsoft.Resources' generic list with a $filter.
    const generic = [];
    for await (const r of kv.vaults.list()) generic.push(r);
    assert.deepEqual(generic.map((r) => r.name).sort(),
                     ['kv-east', 'kv-main', 'kv-put']);
    const east = generic.find((r) => r.name === 'kv-east');
    assert.equal(east.type, 'Microsoft.KeyVault/vaults');
    assert.equal(east.location, 'eastus');
    assert.equal(east.id, vaultPath('kv-east', otherRg));
  });

  test('access policies: add, replace and remove', async () => {
    const objectId = '0e3a4c9b-6f1d-4f3a-9a51-2b7c8d9e0f12';
    const entry = (keys) => ({tenantId: server.creds.tenantId, objectId,
                              permissions: {keys}});
    let res = await kv.vaults.updateAccessPolicy(
        rg, 'kv-main', 'add', {properties: {accessPolicies: [entry(['get'])]}});
    assert.equal(res.name, 'add');
    assert.equal(res.type, 'Microsoft.KeyVault/vaults/accessPolicies');
    assert.equal(res.id, `${vaultPath('kv-main')}/accessPolicies/add`);
    let mine = res.properties.accessPolicies.find((p) => p.objectId === objectId);
    assert.deepEqual(mine.permissions.keys, ['get']);
    // add merges permissions into the existing entry.
    res = await kv.vaults.updateAccessPolicy(
        rg, 'kv-main', 'add',
        {properties: {accessPolicies: [entry(['wrapKey'])]}});
    mine = res.properties.accessPolicies.find((p) => p.objectId === objectId);
    assert.deepEqual(mine.permissions.keys, ['get', 'wrapKey']);
    res = await kv.vaults.updateAccessPolicy(
        rg, 'kv-main', 'replace',
        {properties: {accessPolicies: [entry(['unwrapKey'])]}});
    mine = res.properties.accessPolicies.find((p) => p.objectId === objectId);
    assert.deepEqual(mine.permissions.keys, ['unwrapKey']);
    let v = await kv.vaults.get(rg, 'kv-main');
    assert.equal(v.properties.accessPolicies.length, 2);
    res = await kv.vaults.updateAccessPolicy(
        rg, 'kv-main', 'remove',
        {properties: {accessPolicies: [entry(['unwrapKey'])]}});
    assert.equal(res.properties.accessPolicies.length, 1);
    v = await kv.vaults.get(rg, 'kv-main');
    assert.deepEqual(v.properties.accessPolicies.map((p) => p.objectId),
                     [server.creds.objectId]);
    await refused(kv.vaults.updateAccessPolicy(
                      rg, 'kv-main', 'merge',
                      {properties: {accessPolicies: [entry(['get'])]}}),
                  400, 'BadRequest');
  });

  test('checkNameAvailability: free, taken and invalid', async () => {
    const type = 'Microsoft.KeyVault/vaults';
    let r = await kv.vaults.checkNameAvailability({name: 'kv-free', type});
    assert.equal(r.nameAvailable, true);
    r = await kv.vaults.checkNameAvailability({name: 'KV-MAIN', type});
    assert.equal(r.nameAvailable, false);
    assert.equal(r.reason, 'AlreadyExists');
    assert.match(r.message, /already in use/);
    r = await kv.vaults.checkNameAvailability({name: '1-bad--name', type});
    assert.equal(r.nameAvailable, false);
    assert.equal(r.reason, 'AccountNameInvalid');
  });

  test('delete, list and get deleted, purge', async () => {
    await create('kv-gone', {softDeleteRetentionInDays: 7});
    const before = Date.now();
    await kv.vaults.delete(rg, 'kv-gone');
    await refused(kv.vaults.get(rg, 'kv-gone'), 404, 'ResourceNotFound');
    // Deleting what is gone is a 204, which the SDK accepts.
    await kv.vaults.delete(rg, 'kv-gone');

    const deleted = [];
    for await (const d of kv.vaults.listDeleted()) deleted.push(d);
    const d = deleted.find((x) => x.name === 'kv-gone');
    assert.ok(d, 'listed among the deleted vaults');
    assert.equal(d.type, 'Microsoft.KeyVault/deletedVaults');
    assert.equal(d.id, `/subscriptions/${sub}/providers/Microsoft.KeyVault/` +
                           'locations/westeurope/deletedVaults/kv-gone');
    assert.equal(d.properties.vaultId, vaultPath('kv-gone'));
    assert.equal(d.properties.location, 'westeurope');
    assert.equal(d.properties.purgeProtectionEnabled, false);
    assert.ok(d.properties.deletionDate instanceof Date);
    assert.ok(d.properties.deletionDate.getTime() >= before - 2000);
    assert.equal(d.properties.scheduledPurgeDate.getTime() -
                     d.properties.deletionDate.getTime(),
                 7 * 86400 * 1000);

    const got = await kv.vaults.getDeleted('kv-gone', 'westeurope');
    assert.equal(got.properties.vaultId, vaultPath('kv-gone'));

    // The name stays taken while the vault is soft-deleted.
    const taken = await kv.vaults.checkNameAvailability(
        {name: 'kv-gone', type: 'Microsoft.KeyVault/vaults'});
    assert.equal(taken.nameAvailable, false);
    await assert.rejects(create('kv-gone'), (e) => e.statusCode === 409);

    await kv.vaults.beginPurgeDeletedAndWait('kv-gone', 'westeurope');
    await refused(kv.vaults.getDeleted('kv-gone', 'westeurope'), 404,
                  'ResourceNotFound');
    const free = await kv.vaults.checkNameAvailability(
        {name: 'kv-gone', type: 'Microsoft.KeyVault/vaults'});
    assert.equal(free.nameAvailable, true);
  });

  test('a soft-deleted vault is recovered with createMode recover', async () => {
    await create('kv-back', {}, otherRg);
    await kv.vaults.delete(otherRg, 'kv-back');
    const v = await kv.vaults.beginCreateOrUpdateAndWait(otherRg, 'kv-back', {
      location: 'eastus', properties: props({createMode: 'recover'})});
    assert.equal(v.name, 'kv-back');
    assert.equal((await kv.vaults.get(otherRg, 'kv-back')).name, 'kv-back');
  });
});

describe('vault refusals', () => {
  test('purge is refused under purge protection', async () => {
    await create('kv-protected', {enablePurgeProtection: true,
                                  softDeleteRetentionInDays: 7});
    await kv.vaults.delete(rg, 'kv-protected');
    const d = await kv.vaults.getDeleted('kv-protected', 'westeurope');
    assert.equal(d.properties.purgeProtectionEnabled, true);
    await refused(
        kv.vaults.beginPurgeDeletedAndWait('kv-protected', 'westeurope'),
        403, 'Forbidden');
    // Still there, recoverable.
    assert.equal(
        (await kv.vaults.getDeleted('kv-protected', 'westeurope')).name,
        'kv-protected');
  });

  test('purge protection cannot be turned off', async () => {
    await create('kv-pp', {enablePurgeProtection: true});
    await refused(kv.vaults.update(rg, 'kv-pp', {
      properties: {enablePurgeProtection: false}}), 400, 'BadRequest');
    await refused(create('kv-pp', {enablePurgeProtection: false}), 400,
                  'BadRequest');
    assert.equal((await kv.vaults.get(rg, 'kv-pp')).properties
                     .enablePurgeProtection, true);
  });

  test('retention must be 7 to 90 days and is fixed at creation', async () => {
    for (const days of [6, 91]) {
      await refused(create('kv-retention', {softDeleteRetentionInDays: days}),
                    400, 'BadRequest');
    }
    await create('kv-retention', {softDeleteRetentionInDays: 90});
    await refused(kv.vaults.update(rg, 'kv-retention', {
      properties: {softDeleteRetentionInDays: 30}}), 400, 'BadRequest');
  });

  test('soft delete cannot be disabled', async () => {
    await refused(create('kv-nosoft', {enableSoftDelete: false}), 400,
                  'BadRequest');
  });

  test('invalid vault names', async () => {
    for (const name of ['ab', '1vault', 'vault-', 'va--ult',
                        'a23456789012345678901234x']) {
      await refused(create(name), 400, 'VaultNameNotValid');
    }
  });

  test('vault names are global: another group cannot take one', async () => {
    await refused(create('kv-main', {}, otherRg), 409, 'VaultAlreadyExists');
  });

  test('a vault in a missing resource group', async () => {
    await refused(create('kv-nogroup', {}, 'rg-missing'), 404,
                  'ResourceGroupNotFound');
  });

  test('a Reader can read vaults but not create them', async () => {
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, 'sp', 'create-for-rbac', '--name',
      'vault-reader', '--role', 'Reader', '--scopes', `/subscriptions/${sub}`]));
    const reader = kvClient(credentialFor(
        {tenantId: sp.tenant, clientId: sp.appId, clientSecret: sp.password}));
    assert.equal((await reader.vaults.get(rg, 'kv-main')).name, 'kv-main');
    await refused(
        reader.vaults.beginCreateOrUpdateAndWait(
            rg, 'kv-reader', {location: 'westeurope', properties: props()}),
        403, 'AuthorizationFailed');
    await refused(reader.vaults.update(rg, 'kv-main', {tags: {x: 'y'}}), 403,
                  'AuthorizationFailed');
    await refused(reader.vaults.delete(rg, 'kv-main'), 403,
                  'AuthorizationFailed');
  });

  test('api-version and a token are required', async () => {
    let res = await armFetch(vaultPath('kv-main'));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'MissingApiVersionParameter');
    res = await armFetch(`${vaultPath('kv-main')}?api-version=2023-07-01`,
                         {auth: false});
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'AuthenticationFailed');
  });

  test('the generic resources list accepts only a resourceType filter',
       async () => {
    const base = `/subscriptions/${sub}/resources?api-version=2021-04-01`;
    let res = await armFetch(
        `${base}&$filter=${encodeURIComponent("resourceType eq 'Foo/bars'")}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.value, []);
    res = await armFetch(
        `${base}&$filter=${encodeURIComponent("name eq 'kv-main'")}`);
    assert.equal(res.status, 400);
  });
});

describe('audit events (atrest extension)', () => {
  test('data-plane calls are listed, paged by $skiptoken', async () => {
    const vault = await kv.vaults.get(rg, 'kv-main');
    const keys = new KeyClient(vault.properties.vaultUri, credential);
    await keys.createRsaKey('audited', {keySize: 2048});
    await keys.getKey('audited');
    await assert.rejects(keys.getKey('no-such-key'));

    const path = `${vaultPath('kv-main')}/auditEvents?api-version=2023-07-01`;
    const all = await armFetch(path);
    assert.equal(all.status, 200);
    const ops = all.json.value.map((e) => e.operationName);
    assert.ok(ops.length >= 3, JSON.stringify(ops));
    const created = all.json.value.find((e) => e.resultType === 'Success' &&
                                                e.properties.id?.includes(
                                                    '/keys/audited/'));
    assert.ok(created, JSON.stringify(all.json.value));
    assert.equal(created.category, 'AuditEvent');
    assert.equal(created.resourceId, vaultPath('kv-main'));
    assert.equal(created.identity.claim.oid, server.creds.objectId);
    assert.ok(!Number.isNaN(Date.parse(created.time)));
    const failed = all.json.value.find((e) => e.resultType === 'Failure');
    assert.ok(failed, 'the failed call is audited too');
    assert.equal(failed.properties.httpStatusCode, 404);

    // One event per page, following nextLink.
    const seen = [];
    let next = `${server.origin('management')}${path}&$top=1`;
    while (next) {
      const res = await fetch(next, {headers: {
        authorization: `Bearer ${await token()}`}});
      assert.equal(res.status, 200);
      const page = await res.json();
      assert.ok(page.value.length <= 1);
      seen.push(...page.value.map((e) => e.sequence));
      next = page.value.length ? page.nextLink : undefined;
    }
    assert.deepEqual(seen, all.json.value.map((e) => e.sequence));

    const bad = await armFetch(`${path}&$skiptoken=abc`);
    assert.equal(bad.status, 400);
  });
});
