// The key vault's audit log under callers it refuses, through
// @azure/keyvault-keys and raw requests: a principal with no access policy
// and one from another tenant send hundreds of GET /keys/<30 KB name>. The
// log stores their calls compactly and rate-limited, counts the rest in
// summary records (docs/keyvault.md, "Audit events"), and the store grows
// by a bounded number of bytes, not by the names.
import assert from 'node:assert/strict';
import {readdirSync, statSync} from 'node:fs';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {ClientSecretCredential} from '@azure/identity';
import {KeyClient} from '@azure/keyvault-keys';

import {Arm} from './support/arm.js';
import {atrest, startServer} from './support/atrest.js';

const CALLS = 300;
const NAME_BYTES = 30 * 1024;

let server;
let arm;

function credentialFor(creds) {
  return new ClientSecretCredential(creds.tenant, creds.appId, creds.password,
                                    {authorityHost: server.origin('login'),
                                     disableInstanceDiscovery: true});
}

/** Bytes of the metadata database and its WAL. */
function storeBytes() {
  let total = 0;
  for (const f of readdirSync(server.dataDir)) {
    if (f.startsWith('metadata.db')) {
      total += statSync(path.join(server.dataDir, f)).size;
    }
  }
  return total;
}

async function auditEvents(vault) {
  const events = [];
  let next = `/subscriptions/${arm.sub}/resourceGroups/${arm.group}/providers/` +
      `Microsoft.KeyVault/vaults/${vault}/auditEvents?$top=1000`;
  while (next) {
    const res = await arm.armFetch(next);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    events.push(...res.json.value);
    next = null;
    if (res.json.nextLink) {
      // armFetch adds the api-version itself.
      const url = new URL(res.json.nextLink);
      url.searchParams.delete('api-version');
      next = `${url.pathname}?${url.searchParams}`;
    }
  }
  return events;
}

before(async () => {
  server = await startServer();
  arm = await new Arm(server, {group: 'rg-audit'}).init();
});
after(async () => { await server?.stop(); });

describe('refused callers and the audit log', () => {
  test(`${CALLS} refused calls with ${NAME_BYTES}-byte names add a bounded ` +
       'number of bytes, and every call is counted', async () => {
    const vault = await arm.createVault('kv-victim');
    const vaultUri = vault.properties.vaultUri;
    // A principal of the vault's tenant with no access policy (403)...
    const outsider = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                        '--tenant', server.creds.tenantId,
                                        'sp', 'create-for-rbac', '--name',
                                        'kv-outsider']));
    const client = new KeyClient(vaultUri, credentialFor(outsider),
                                 {retryOptions: {maxRetries: 0}});
    // ...and one of another tenant (401), with a token for the vault.
    const tenant = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                      'tenant', 'create', '--name', 'Evil']));
    const foreign = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                       '--tenant', tenant.tenantId, 'sp',
                                       'create-for-rbac', '--name', 'evil']));
    const foreignToken = (await credentialFor(foreign).getToken(
        `${server.origin('vault')}/.default`)).token;
    // The log before, read (and so flushed) through ARM.
    const before = await auditEvents('kv-victim');
    const bytesBefore = storeBytes();

    const name = (i) => `n${i}-`.padEnd(NAME_BYTES, 'x');
    for (let i = 0; i < CALLS / 2; i++) {
      await assert.rejects(client.getKey(name(i)),
                           (e) => e.statusCode >= 400 && e.statusCode < 500);
      const res = await fetch(`${vaultUri}keys/${name(i)}?api-version=7.5`,
                              {headers: {authorization: `Bearer ${foreignToken}`}});
      assert.ok(res.status >= 400 && res.status < 500, `${res.status}`);
      await res.arrayBuffer();
    }
    const events = (await auditEvents('kv-victim')).slice(before.length);
    const grew = storeBytes() - bytesBefore;
    // 300 names of 30 KB are 9 MB; the log takes a small, fixed amount.
    assert.ok(grew < 512 * 1024, `the store grew by ${grew} bytes`);

    const outsiderId = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                          '--tenant', server.creds.tenantId,
                                          'sp', 'list']))
                           .find((p) => p.appId === outsider.appId).id;
    const calls = new Map();
    const records = new Map();
    for (const e of events) {
      const who = e.identity.claim.oid;
      calls.set(who, (calls.get(who) ?? 0) + (e.properties.count ?? 1));
      records.set(who, (records.get(who) ?? 0) + 1);
      // Names are stored compactly (and the URL in the log with them).
      assert.ok((e.properties.id ?? '').length < 300, e.properties.id);
      assert.equal(e.resultType, 'Failure');
    }
    assert.equal(calls.get(outsiderId), CALLS / 2);
    const foreignCalls = [...calls.entries()]
                             .filter(([who]) => who !== outsiderId)
                             .reduce((n, [, c]) => n + c, 0);
    assert.equal(foreignCalls, CALLS / 2);
    assert.ok(records.get(outsiderId) <= 22, `${records.get(outsiderId)}`);
    assert.ok(events.length <= 44, `${events.length} records`);
    const summaries = events.filter(
        (e) => e.operationName === 'RefusedCallsSummary');
    assert.ok(summaries.length >= 2, JSON.stringify(summaries));
    for (const s of summaries) assert.ok(s.properties.count > 1);
  });

  test('the vault\'s own callers are logged one record per call', async () => {
    const vault = await arm.createVault('kv-owner');
    const client = arm.keyClient(vault.properties.vaultUri);
    await client.createRsaKey('k1', {keySize: 2048});
    for (let i = 0; i < 40; i++) await client.getKey('k1');
    const events = await auditEvents('kv-owner');
    assert.equal(events.filter((e) => e.operationName === 'KeyGet').length, 40);
    assert.ok(events.every((e) => e.properties.count === undefined));
  });
});
