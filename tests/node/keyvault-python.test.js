// The built-in key vault through Debian's Python SDK (python3-azure), as a
// Python user runs it: tests/python/keyvault_sdk.py does the calls; this
// test starts the server, makes the vault and checks the script's outcome.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {ClientSecretCredential} from '@azure/identity';

import {startServer} from './support/atrest.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let server;

before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

test('azure-keyvault-keys (Python): create, get, wrap/unwrap, delete, recover',
     async () => {
       const cred = new ClientSecretCredential(
           server.creds.tenantId, server.creds.clientId,
           server.creds.clientSecret,
           {authorityHost: server.origin('login'), disableInstanceDiscovery: true});
       const token = (await cred.getToken(
           `${server.origin('management')}/.default`)).token;
       const base = `${server.origin('management')}/subscriptions/` +
           `${server.creds.subscriptionId}/resourceGroups/py`;
       const headers = {authorization: `Bearer ${token}`,
                        'content-type': 'application/json'};
       let res = await fetch(`${base}?api-version=2022-09-01`, {
         method: 'PUT', headers, body: JSON.stringify({location: 'westus'})});
       assert.ok(res.ok);
       res = await fetch(`${base}/providers/Microsoft.KeyVault/vaults/kv-py` +
                         '?api-version=2023-07-01', {
         method: 'PUT', headers, body: JSON.stringify({
           location: 'westus', properties: {
             tenantId: server.creds.tenantId, sku: {family: 'A', name: 'standard'},
             accessPolicies: [{tenantId: server.creds.tenantId,
                               objectId: server.creds.objectId,
                               permissions: {keys: ['all']}}]}})});
       assert.ok(res.ok, `${res.status}`);

       const run = spawnSync('/usr/bin/python3',
                             [path.join(here, '../python/keyvault_sdk.py')], {
         encoding: 'utf8',
         env: {...process.env,
               ATREST_CA: process.env.NODE_EXTRA_CA_CERTS,
               REQUESTS_CA_BUNDLE: process.env.NODE_EXTRA_CA_CERTS,
               ATREST_AUTHORITY: server.origin('login'),
               ATREST_VAULT_URL: server.origin('kv-py.vault'),
               AZURE_TENANT_ID: server.creds.tenantId,
               AZURE_CLIENT_ID: server.creds.clientId,
               AZURE_CLIENT_SECRET: server.creds.clientSecret}});
       assert.equal(run.status, 0, `python failed:\n${run.stdout}\n${run.stderr}`);
       assert.match(run.stdout, /ok: the recovered key still unwraps/);
     });
