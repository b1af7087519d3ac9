// Role assignment scopes through @azure/arm-authorization and raw ARM
// requests: a scope is decoded and must name a real scope shape
// (subscription, resource group, a resource in one). Encoded '/' and dot
// segments ("rg-a2%2F..%2Frg-a") are refused with 400 InvalidScope and
// nothing is stored; a valid scope is stored in its normal form.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {AuthorizationManagementClient} from '@azure/arm-authorization';

import {Arm} from './support/arm.js';
import {startServer} from './support/atrest.js';

const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';

let server;
let arm;
let auth;

function roleDefinition() {
  return `/subscriptions/${arm.sub}/providers/Microsoft.Authorization/` +
      `roleDefinitions/${READER}`;
}

/** The scopes of every stored role assignment (read from the database). */
function storedScopes() {
  return execFileSync('sqlite3', ['-readonly',
                                  path.join(server.dataDir, 'metadata.db'),
                                  'SELECT scope FROM role_assignments'],
                      {encoding: 'utf8'}).split('\n').filter(Boolean);
}

/** All assignments the administrator can list at the subscription. */
async function everyAssignment() {
  const out = [];
  for await (const a of auth.roleAssignments.listForScope(
      `/subscriptions/${arm.sub}`)) {
    out.push(a);
  }
  return out;
}

before(async () => {
  server = await startServer();
  arm = await new Arm(server, {group: 'rg-a'}).init();
  await arm.rm.resourceGroups.createOrUpdate('rg-a2', {location: 'westeurope'});
  auth = new AuthorizationManagementClient(
      arm.credential, arm.sub,
      {endpoint: server.origin('management'), retryOptions: {maxRetries: 0}});
});
after(async () => { await server?.stop(); });

describe('role assignment scopes', () => {
  test('a scope with encoded dot segments is refused and not stored',
       async () => {
    const before = await everyAssignment();
    const sub = `/subscriptions/${arm.sub}`;
    for (const scope of [
      `${sub}/resourceGroups/rg-a2%2F..%2Frg-a`,
      `${sub}/resourceGroups/rg-a2%2F.`,
      `${sub}/resourceGroups/rg-a2%2F%2E%2E`,
      `${sub}/resourceGroups/rg-a/providers/Microsoft.KeyVault/vaults/` +
          'kv%2F..%2F..',
    ]) {
      await assert.rejects(
          auth.roleAssignments.create(scope, randomUUID(), {
            roleDefinitionId: roleDefinition(),
            principalId: server.creds.objectId}),
          (e) => {
            assert.equal(e.statusCode, 400, `${scope}: ${e.message}`);
            assert.equal(e.code, 'InvalidScope', scope);
            return true;
          });
      await assert.rejects(
          (async () => {
            for await (const a of auth.roleAssignments.listForScope(scope)) {
              void a;
            }
          })(),
          (e) => e.statusCode === 400, scope);
    }
    // The review's request, raw: the group segment decodes to
    // "rg-a2/../rg-a".
    const raw = await arm.armFetch(
        `${sub}/resourceGroups/rg-a2%2F..%2Frg-a/providers/` +
            `Microsoft.Authorization/roleAssignments/${randomUUID()}`,
        {method: 'PUT', body: {properties: {
          roleDefinitionId: roleDefinition(),
          principalId: server.creds.objectId}}});
    assert.equal(raw.status, 400, JSON.stringify(raw.json));
    assert.equal(raw.json.error.code, 'InvalidScope');
    assert.deepEqual((await everyAssignment()).map((a) => a.id).sort(),
                     before.map((a) => a.id).sort());
    for (const scope of storedScopes()) {
      assert.doesNotMatch(scope, /\/\.\.?(\/|$)|\/\/|%/, scope);
    }
  });

  test('a valid scope is stored in its normal form', async () => {
    const name = randomUUID();
    const res = await arm.armFetch(
        `/subscriptions/${arm.sub}/resourcegroups/rg-a2/providers/` +
            `Microsoft.Authorization/roleAssignments/${name}`,
        {method: 'PUT', body: {properties: {
          roleDefinitionId: roleDefinition(),
          principalId: server.creds.objectId}}});
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.properties.scope,
                 `/subscriptions/${arm.sub}/resourceGroups/rg-a2`);
    const listed = [];
    for await (const a of auth.roleAssignments.listForScope(
        `/subscriptions/${arm.sub}/resourceGroups/rg-a2`)) {
      listed.push(a.name);
    }
    assert.ok(listed.includes(name));
    await auth.roleAssignments.delete(
        `/subscriptions/${arm.sub}/resourceGroups/rg-a2`, name);
  });
});
