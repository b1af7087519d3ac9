// The identity provider and the Resource Manager core, through
// @azure/identity and @azure/arm-resources exactly as an Azure user runs
// them (reference/keyvault-api.md §2.6 for the identity wire facts).
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {ResourceManagementClient} from '@azure/arm-resources';
import {AuthorizationManagementClient} from '@azure/arm-authorization';
import {ClientSecretCredential} from '@azure/identity';

import {execFileSync} from 'node:child_process';
import https from 'node:https';

import {atrest, atrestBin, startServer} from './support/atrest.js';

let server;
let credential;

function credentialFor(creds, secret = creds.clientSecret) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId, secret, {
    authorityHost: server.origin('login'),
    disableInstanceDiscovery: true,
  });
}

function armClient(cred = credential) {
  return new ResourceManagementClient(cred, server.creds.subscriptionId, {
    endpoint: server.origin('management'),
  });
}

async function armFetch(path, {token, method = 'GET', body} = {}) {
  const headers = {'content-type': 'application/json'};
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${server.origin('management')}${path}`, {
    method, headers, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return {status: res.status, headers: res.headers,
          json: text ? JSON.parse(text) : null};
}

before(async () => {
  server = await startServer();
  credential = credentialFor(server.creds);
});
after(async () => { await server.stop(); });

describe('identity provider', () => {
  test('discovery names an issuer on the authority', async () => {
    const res = await fetch(
        `${server.origin('login')}/${server.creds.tenantId}` +
        '/v2.0/.well-known/openid-configuration');
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.issuer,
                 `${server.origin('login')}/${server.creds.tenantId}/v2.0`);
    const jwks = await (await fetch(doc.jwks_uri)).json();
    assert.equal(jwks.keys[0].kty, 'RSA');
    assert.equal(jwks.keys[0].d, undefined);
  });

  test('ClientSecretCredential gets an RS256 token for a resource', async () => {
    const scope = `${server.origin('management')}/.default`;
    const token = await credential.getToken(scope);
    assert.ok(token.expiresOnTimestamp > Date.now() + 50 * 60 * 1000);
    const [header, payload] = token.token.split('.').slice(0, 2).map(
        (p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.equal(header.alg, 'RS256');
    assert.equal(payload.aud, server.origin('management'));
    assert.equal(payload.tid, server.creds.tenantId);
    assert.equal(payload.appid, server.creds.clientId);
  });

  test('a wrong secret is refused with AADSTS7000215', async () => {
    const bad = credentialFor(server.creds, 'not-the-secret');
    await assert.rejects(
        bad.getToken(`${server.origin('management')}/.default`),
        /AADSTS7000215/);
  });

  test('an unknown client is refused with AADSTS700016', async () => {
    const bad = credentialFor({...server.creds,
                               clientId: '11111111-2222-4333-8444-555555555555'});
    await assert.rejects(
        bad.getToken(`${server.origin('management')}/.default`),
        /AADSTS700016/);
  });

  test('the token endpoint speaks OAuth errors for bad requests', async () => {
    const url = `${server.origin('login')}/${server.creds.tenantId}` +
        '/oauth2/v2.0/token';
    const post = (form) => fetch(url, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams(form),
    });
    let res = await post({grant_type: 'password'});
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'unsupported_grant_type');
    res = await post({grant_type: 'client_credentials',
                      client_id: server.creds.clientId,
                      client_secret: server.creds.clientSecret,
                      scope: server.origin('management')});
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_scope');
    res = await fetch(`${server.origin('login')}/no-such-tenant/v2.0/` +
                      '.well-known/openid-configuration');
    assert.equal(res.status, 400);
    assert.match((await res.json()).error_description, /AADSTS90002/);
  });
});

/** POSTs `form` to the token endpoint from the local address `from` (any
 *  of 127.0.0.0/8), on a connection of its own; {status, headers, json}. */
function tokenRequest(form, from) {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const req = https.request({
      host: '127.0.0.1', port: server.port, servername: 'login.localhost',
      localAddress: from, agent: false, method: 'POST',
      path: `/${server.creds.tenantId}/oauth2/v2.0/token`,
      headers: {'host': `login.localhost:${server.port}`,
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(body)},
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({status: res.statusCode,
                                   headers: res.headers,
                                   json: JSON.parse(text)}));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Was: every attempt ran 100k rounds of PBKDF2 with no throttle, so anyone
// could keep the cores busy with wrong secrets for a known client id.
describe('the token endpoint under attack', () => {
  let sp;
  before(() => {
    sp = JSON.parse(atrest(['ad', '--data-dir', server.dataDir, 'sp',
                            'create-for-rbac', '--name', 'throttled']));
  });
  const form = (secret) => ({
    grant_type: 'client_credentials', client_id: sp.appId,
    client_secret: secret, scope: `${server.origin('management')}/.default`});

  test('wrong secrets get 429 with Retry-After; the right secret still ' +
       'works from its own address, then from anywhere', async () => {
    const attacker = '127.0.0.2';
    for (let i = 0; i < 5; ++i) {
      const r = await tokenRequest(form('wrong'), attacker);
      assert.equal(r.status, 401, JSON.stringify(r.json));
      assert.equal(r.json.error, 'invalid_client');
    }
    let r = await tokenRequest(form('wrong'), attacker);
    assert.equal(r.status, 429, JSON.stringify(r.json));
    assert.equal(r.json.error, 'temporarily_unavailable');
    assert.match(r.json.error_description, /^AADSTS50053: /);
    assert.deepEqual(r.json.error_codes, [50053]);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers['cache-control'], 'no-store');
    // Not even the right secret is checked from there: it was never
    // verified, and the address is waiting.
    r = await tokenRequest(form(sp.password), attacker);
    assert.equal(r.status, 429, JSON.stringify(r.json));
    // The client is in backoff too: a new address is heard once, then waits.
    r = await tokenRequest(form('wrong'), '127.0.0.3');
    assert.equal(r.status, 401, JSON.stringify(r.json));
    r = await tokenRequest(form('wrong'), '127.0.0.3');
    assert.equal(r.status, 429, JSON.stringify(r.json));
    // The owner, from an address that never failed, gets its token...
    r = await tokenRequest(form(sp.password), '127.0.0.9');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.token_type, 'Bearer');
    // ...and, its secret verified, from anywhere, the attacker's address too.
    r = await tokenRequest(form(sp.password), attacker);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const token = await credentialFor({tenantId: server.creds.tenantId,
                                       clientId: sp.appId,
                                       clientSecret: sp.password})
        .getToken(`${server.origin('management')}/.default`);
    assert.ok(token.token);
  });
});

describe('Resource Manager core', () => {
  test('resource groups: create, update, list, get, exists, delete', async () => {
    const arm = armClient();
    const created = await arm.resourceGroups.createOrUpdate(
        'rg-client', {location: 'West Europe', tags: {team: 'ml'}});
    assert.equal(created.name, 'rg-client');
    assert.equal(created.location, 'westeurope');
    assert.deepEqual(created.tags, {team: 'ml'});
    assert.equal(created.properties.provisioningState, 'Succeeded');

    const updated = await arm.resourceGroups.update(
        'rg-client', {tags: {team: 'ml', env: 'test'}});
    assert.deepEqual(updated.tags, {team: 'ml', env: 'test'});

    const names = [];
    for await (const g of arm.resourceGroups.list()) names.push(g.name);
    assert.deepEqual(names, ['rg-client']);
    assert.equal((await arm.resourceGroups.get('RG-CLIENT')).name, 'rg-client');
    assert.equal((await arm.resourceGroups.checkExistence('rg-client')).body,
                 true);

    await arm.resourceGroups.beginDeleteAndWait('rg-client');
    assert.equal((await arm.resourceGroups.checkExistence('rg-client')).body,
                 false);
    await assert.rejects(arm.resourceGroups.get('rg-client'),
                         (e) => e.statusCode === 404 &&
                                e.code === 'ResourceGroupNotFound');
  });

  test('moving a group to another location is refused', async () => {
    const arm = armClient();
    await arm.resourceGroups.createOrUpdate('rg-pinned', {location: 'eastus'});
    await assert.rejects(
        arm.resourceGroups.createOrUpdate('rg-pinned', {location: 'westus'}),
        (e) => e.statusCode === 400 && e.code === 'InvalidResourceGroupLocation');
  });

  test('subscriptions are listed for the caller', async () => {
    const res = await armFetch('/subscriptions?api-version=2022-12-01', {
      token: (await credential.getToken(
          `${server.origin('management')}/.default`)).token,
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.value.length, 1);
    assert.equal(res.json.value[0].subscriptionId, server.creds.subscriptionId);
    assert.equal(res.json.value[0].tenantId, server.creds.tenantId);
  });

  test('role assignments through @azure/arm-authorization', async () => {
    const auth = new AuthorizationManagementClient(
        credential, server.creds.subscriptionId,
        {endpoint: server.origin('management')});
    const scope = `/subscriptions/${server.creds.subscriptionId}`;
    const name = '6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11';
    const created = await auth.roleAssignments.create(scope, name, {
      roleDefinitionId: `${scope}/providers/Microsoft.Authorization/` +
          'roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7',
      principalId: server.creds.objectId,
    });
    assert.equal(created.name, name);
    const listed = [];
    for await (const a of auth.roleAssignments.listForScope(scope)) {
      listed.push(a.name);
    }
    assert.ok(listed.includes(name));
    await auth.roleAssignments.delete(scope, name);
  });
});

describe('management refusals', () => {
  const path = () =>
      `/subscriptions/${server.creds.subscriptionId}/resourcegroups` +
      '?api-version=2021-04-01';

  test('no token: 401 with a challenge', async () => {
    const res = await armFetch(path());
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'AuthenticationFailed');
    assert.match(res.headers.get('www-authenticate'), /^Bearer /);
  });

  test('a token for another audience is refused', async () => {
    const token = (await credential.getToken(
        `${server.origin('')}/.default`)).token;
    const res = await armFetch(path(), {token});
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'InvalidAuthenticationToken');
  });

  test('a bad signature and alg none are refused', async () => {
    const good = (await credential.getToken(
        `${server.origin('management')}/.default`)).token;
    const [h, p, s] = good.split('.');
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    let res = await armFetch(path(), {token: `${h}.${p}.${flipped}`});
    assert.equal(res.status, 401);
    const none = Buffer.from(JSON.stringify({alg: 'none', typ: 'JWT'}))
                     .toString('base64url');
    res = await armFetch(path(), {token: `${none}.${p}.`});
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'InvalidAuthenticationToken');
  });

  test('missing api-version is a 400 MissingApiVersionParameter', async () => {
    const token = (await credential.getToken(
        `${server.origin('management')}/.default`)).token;
    const res = await armFetch(
        `/subscriptions/${server.creds.subscriptionId}/resourcegroups`,
        {token});
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'MissingApiVersionParameter');
  });
});

// libfaketime preloaded into the server itself (not the faketime wrapper,
// which would stand between the test and the server's signals).
function fakeClock(offset) {
  return {LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
          FAKETIME: offset};
}

describe('token lifetime and tenants', () => {
  const groupsPath = (sub) =>
      `/subscriptions/${sub}/resourcegroups?api-version=2021-04-01`;
  const token = async (srv, creds = srv.creds) =>
      (await credentialFor(creds).getToken(
          `${srv.origin('management')}/.default`)).token;

  test('an expired token is refused with ExpiredAuthenticationToken', async () => {
    // A server that issues 1-second tokens and allows no clock skew.
    const short = await startServer({extraArgs: [
      '--identity-token-lifetime-seconds', '1',
      '--identity-clock-skew-seconds', '0']});
    try {
      const cred = new ClientSecretCredential(
          short.creds.tenantId, short.creds.clientId, short.creds.clientSecret,
          {authorityHost: short.origin('login'), disableInstanceDiscovery: true});
      const t = (await cred.getToken(`${short.origin('management')}/.default`))
                    .token;
      await new Promise((r) => setTimeout(r, 2100));
      const res = await fetch(
          `${short.origin('management')}${groupsPath(short.creds.subscriptionId)}`,
          {headers: {authorization: `Bearer ${t}`}});
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, 'ExpiredAuthenticationToken');
    } finally {
      await short.stop();
    }
  });

  test('tokens from a clock ahead (nbf) or far behind (exp) are refused',
       async () => {
    // Second servers on the same data dir (same tenant and signing keys)
    // whose clocks run 2 h ahead and 3 h behind, through libfaketime.
    const ahead = await startServer({dataDir: server.dataDir,
                                     env: fakeClock('+2h')});
    const behind = await startServer({dataDir: server.dataDir,
                                      env: fakeClock('-3h')});
    try {
      // A principal made on the slow clock too, so that its secret is
      // already valid there.
      const made = execFileSync('faketime', [
        '-f', '-3h', atrestBin, 'ad', '--data-dir', server.dataDir, 'sp',
        'create-for-rbac', '--name', 'past-bot', '--role', 'Reader', '--scopes',
        `/subscriptions/${server.creds.subscriptionId}`], {encoding: 'utf8'});
      const past = JSON.parse(made);
      for (const [srv, creds, code, why] of [
               [ahead, server.creds, 'InvalidAuthenticationToken',
                /not valid yet/],
               [behind, {tenantId: past.tenant, clientId: past.appId,
                         clientSecret: past.password},
                'ExpiredAuthenticationToken', /expired/]]) {
        const cred = new ClientSecretCredential(
            creds.tenantId, creds.clientId, creds.clientSecret,
            {authorityHost: srv.origin('login'), disableInstanceDiscovery: true});
        // The token names the first server's audience; only the clocks
        // differ.
        const t = (await cred.getToken(`${server.origin('management')}/.default`))
                      .token;
        const res = await armFetch(groupsPath(server.creds.subscriptionId),
                                   {token: t});
        assert.equal(res.status, 401);
        assert.equal(res.json.error.code, code);
        assert.match(res.json.error.message, why);
      }
    } finally {
      await ahead.stop();
      await behind.stop();
    }
  });

  test('a token from another tenant cannot reach this subscription', async () => {
    const other = JSON.parse(atrest(['ad', '--data-dir', server.dataDir,
                                     'tenant', 'create', '--name', 'Fabrikam']));
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, '--tenant', other.tenantId, 'sp',
      'create-for-rbac', '--name', 'fabrikam-admin', '--role', 'Owner',
      '--scopes', `/subscriptions/${other.subscriptionId}`]));
    const creds = {tenantId: sp.tenant, clientId: sp.appId,
                   clientSecret: sp.password};
    const t = await token(server, creds);
    // Its own subscription works...
    let res = await armFetch(groupsPath(other.subscriptionId), {token: t});
    assert.equal(res.status, 200);
    // ...the first tenant's does not.
    res = await armFetch(groupsPath(server.creds.subscriptionId), {token: t});
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'InvalidAuthenticationTokenTenant');
  });

  test('a service principal made by create-for-rbac gets its role', async () => {
    const sp = JSON.parse(atrest([
      'ad', '--data-dir', server.dataDir, 'sp', 'create-for-rbac', '--name',
      'reader-bot', '--role', 'Reader', '--scopes',
      `/subscriptions/${server.creds.subscriptionId}`]));
    const reader = credentialFor({tenantId: sp.tenant, clientId: sp.appId,
                                  clientSecret: sp.password});
    const arm = armClient(reader);
    for await (const g of arm.resourceGroups.list()) void g;  // May read.
    await assert.rejects(
        arm.resourceGroups.createOrUpdate('rg-denied', {location: 'eastus'}),
        (e) => e.statusCode === 403 && e.code === 'AuthorizationFailed');
    const listed = JSON.parse(atrest(['ad', '--data-dir', server.dataDir, 'sp',
                                      'list']));
    assert.ok(listed.some((p) => p.appId === sp.appId));
    atrest(['ad', '--data-dir', server.dataDir, 'sp', 'delete', '--id',
            sp.appId]);
    await assert.rejects(
        credentialFor({tenantId: sp.tenant, clientId: sp.appId,
                       clientSecret: sp.password})
            .getToken(`${server.origin('management')}/.default`),
        /AADSTS700016/);
  });
});

describe('subscriptions through Microsoft.Subscription', () => {
  test('alias create, get, list; cancel, enable, rename; alias delete',
       async () => {
         const {SubscriptionClient} = await import('@azure/arm-subscriptions');
         const client = new SubscriptionClient(
             credential, {endpoint: server.origin('management')});
         const alias = await client.alias.beginCreateAndWait(
             'team-a', {properties: {displayName: 'Team A',
                                     workload: 'Production'}});
         assert.equal(alias.name, 'team-a');
         assert.equal(alias.properties.provisioningState, 'Succeeded');
         const subId = alias.properties.subscriptionId;
         assert.match(subId, /^[0-9a-f-]{36}$/);
         assert.notEqual(subId, server.creds.subscriptionId);
         // Idempotent: the same alias gives the same subscription.
         const again = await client.alias.beginCreateAndWait(
             'team-a', {properties: {displayName: 'Ignored'}});
         assert.equal(again.properties.subscriptionId, subId);
         assert.equal((await client.alias.get('team-a')).properties
                          .subscriptionId, subId);
         const listed = await client.alias.list();
         assert.deepEqual(listed.value.map((a) => a.name), ['team-a']);

         // The creator owns it: it can make groups there at once.
         const rm = new ResourceManagementClient(
             credential, subId, {endpoint: server.origin('management')});
         await rm.resourceGroups.createOrUpdate('rg-a', {location: 'westus'});

         assert.deepEqual(await client.subscription.cancel(subId),
                          {subscriptionId: subId});
         const token = (await credential.getToken(
             `${server.origin('management')}/.default`)).token;
         const sub = await armFetch(
             `/subscriptions/${subId}?api-version=2022-12-01`, {token});
         assert.equal(sub.json.state, 'Disabled');
         // A cancelled subscription is read-only, and nothing was deleted.
         await assert.rejects(
             rm.resourceGroups.createOrUpdate('rg-b', {location: 'westus'}),
             (e) => e.statusCode === 409 &&
                 e.code === 'ReadOnlyDisabledSubscription');
         assert.equal((await rm.resourceGroups.get('rg-a')).name, 'rg-a');
         await client.subscription.enable(subId);
         await rm.resourceGroups.createOrUpdate('rg-b', {location: 'westus'});
         await client.subscription.rename(subId, {subscriptionName: 'Team A2'});
         const renamed = await armFetch(
             `/subscriptions/${subId}?api-version=2022-12-01`, {token});
         assert.equal(renamed.json.displayName, 'Team A2');
         assert.equal(renamed.json.state, 'Enabled');

         await client.alias.delete('team-a');
         await assert.rejects(client.alias.get('team-a'),
                              (e) => e.statusCode === 404);
         // The subscription outlives its alias.
         assert.equal((await rm.resourceGroups.get('rg-b')).name, 'rg-b');
       });
});
