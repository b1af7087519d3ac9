// `atrest login` and `atrest group ...`: the real binary against a real
// server over HTTPS, with the profile in a scratch config dir.
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {atrestBin, startServer} from './support/atrest.js';

let server;
let home;
let env;

function profilePath() {
  return path.join(home, 'config', 'atrest', 'profile.json');
}

function loginArgs(secret = server.creds.clientSecret) {
  return ['login', '--service-principal', '--username', server.creds.clientId,
          '--password', secret, '--tenant', server.creds.tenantId,
          '--authority', server.origin('login'),
          '--management-endpoint', server.origin('management'),
          '--ca-file', process.env.NODE_EXTRA_CA_CERTS];
}

/** Runs the CLI; returns {status, stdout, stderr}. */
function cli(args, extraEnv = {}) {
  const r = spawnSync(atrestBin, args,
                      {encoding: 'utf8', env: {...env, ...extraEnv}});
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}

function cliJson(args) {
  const out = execFileSync(atrestBin, args, {encoding: 'utf8', env});
  return JSON.parse(out);
}

describe('atrest login and atrest group', () => {
  before(async () => {
    server = await startServer();
    home = mkdtempSync(path.join(process.env.ATREST_TEST_ROOT ?? tmpdir(),
                                 'cli-home-'));
    env = {...process.env, HOME: home,
           XDG_CONFIG_HOME: path.join(home, 'config')};
    delete env.ATREST_CLIENT_SECRET;
  });
  after(async () => { await server?.stop(); });

  test('a wrong secret fails with AADSTS7000215 and saves nothing', () => {
    const r = cli(loginArgs('not-the-secret'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /AADSTS7000215/);
    assert.throws(() => statSync(profilePath()), {code: 'ENOENT'});
  });

  test('group commands before login say to log in', () => {
    const r = cli(['group', 'list']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /run atrest login/);
  });

  test('login prints the subscription and saves a private profile', () => {
    const subs = cliJson(loginArgs());
    assert.ok(Array.isArray(subs));
    const def = subs.find((s) => s.isDefault);
    assert.equal(def.id, server.creds.subscriptionId);
    assert.equal(def.tenantId, server.creds.tenantId);
    assert.deepEqual(def.user,
                     {name: server.creds.clientId, type: 'servicePrincipal'});

    const st = statSync(profilePath());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(profilePath())).mode & 0o777, 0o700);
    const text = readFileSync(profilePath(), 'utf8');
    assert.ok(!text.includes(server.creds.clientSecret),
              'the profile must not hold the client secret');
    const profile = JSON.parse(text);
    assert.equal(profile.subscriptionId, server.creds.subscriptionId);
    assert.equal(profile.managementEndpoint, server.origin('management'));
    assert.ok(Date.parse(profile.expiresOn) > Date.now());
  });

  test('the secret may come from ATREST_CLIENT_SECRET', () => {
    const args = loginArgs().filter(
        (a, i, all) => a !== '--password' && all[i - 1] !== '--password');
    const r = cli(args, {ATREST_CLIENT_SECRET: server.creds.clientSecret});
    assert.equal(r.status, 0, r.stderr);
  });

  test('group create, list, show and delete', () => {
    const sub = server.creds.subscriptionId;
    const created = cliJson(['group', 'create', '--name', 'cli-rg',
                             '--location', 'westeurope',
                             '--tags', 'team=ml', 'env=dev']);
    assert.equal(created.id, `/subscriptions/${sub}/resourceGroups/cli-rg`);
    assert.equal(created.name, 'cli-rg');
    assert.equal(created.location, 'westeurope');
    assert.deepEqual(created.tags, {team: 'ml', env: 'dev'});
    assert.equal(created.properties.provisioningState, 'Succeeded');

    const list = cliJson(['group', 'list']);
    assert.ok(Array.isArray(list));
    assert.ok(list.some((g) => g.name === 'cli-rg'));

    const shown = cliJson(['group', 'show', '--name', 'cli-rg']);
    assert.deepEqual(shown, created);

    const del = cli(['group', 'delete', '--name', 'cli-rg', '--yes']);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(del.stdout, '');

    const missing = cli(['group', 'show', '--name', 'cli-rg']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /ResourceGroupNotFound/);
    assert.ok(!cliJson(['group', 'list']).some((g) => g.name === 'cli-rg'));
  });

  test('only trusted server certificates are accepted', () => {
    const r = cli(['group', 'list'],
                  {NODE_EXTRA_CA_CERTS: '', REQUESTS_CA_BUNDLE: ''});
    assert.equal(r.status, 1);
    assert.match(r.stderr, /certificate verify failed|handshake/i);
    const ok = cli(['group', 'list', '--ca-file', process.env.NODE_EXTRA_CA_CERTS],
                   {NODE_EXTRA_CA_CERTS: '', REQUESTS_CA_BUNDLE: ''});
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(Array.isArray(JSON.parse(ok.stdout)));
  });
});
