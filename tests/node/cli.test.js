// `atrest login` and `atrest group ...`: the real binary against a real
// server over HTTPS, with the profile in a scratch config dir.
import assert from 'node:assert/strict';
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import {generateKeyPairSync} from 'node:crypto';
import {cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync,
        statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {atrestBin, freePort, startServer} from './support/atrest.js';

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

  // `atrest keyvault ...`, as `az keyvault` (reference/keyvault-api.md §6.3).
  describe('atrest keyvault', () => {
    const other = '7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6';
    const fails = (args, pattern) => {
      const r = cli(args);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, pattern);
    };

    test('create takes the group location and the caller\'s policy', () => {
      cliJson(['group', 'create', '-n', 'kv-cli-rg', '-l', 'westeurope']);
      const v = cliJson([
        'keyvault', 'create', '-n', 'cli-vault', '-g', 'kv-cli-rg',
        '--retention-days', '7', '--default-action', 'Deny', '--bypass', 'None',
        '--ip-rules', '10.0.0.0/24,10.1.0.1', '--ip-rules', '10.2.0.1',
        '--tags', 'team=ml']);
      const sub = server.creds.subscriptionId;
      assert.equal(v.id, `/subscriptions/${sub}/resourceGroups/kv-cli-rg/` +
                             'providers/Microsoft.KeyVault/vaults/cli-vault');
      assert.equal(v.resourceGroup, 'kv-cli-rg');
      assert.equal(v.location, 'westeurope');
      assert.deepEqual(v.tags, {team: 'ml'});
      assert.equal(v.properties.vaultUri,
                   `${server.origin('cli-vault.vault')}/`);
      assert.equal(v.properties.softDeleteRetentionInDays, 7);
      assert.equal(v.properties.enablePurgeProtection, false);
      assert.equal(v.properties.networkAcls.defaultAction, 'Deny');
      assert.equal(v.properties.networkAcls.bypass, 'None');
      assert.deepEqual(v.properties.networkAcls.ipRules.map((r) => r.value),
                       ['10.0.0.0/24', '10.1.0.1', '10.2.0.1']);
      // az's default policy for the creator, found from the token's oid.
      assert.equal(v.properties.accessPolicies.length, 1);
      const self = v.properties.accessPolicies[0];
      assert.equal(self.objectId, server.creds.objectId);
      assert.ok(self.permissions.keys.includes('create'));
      assert.ok(self.permissions.secrets.includes('set'));

      fails(['keyvault', 'create', '-n', 'cli-vault', '-g', 'kv-cli-rg'],
            /The specified vault: cli-vault already exists/);
      fails(['keyvault', 'create', '-n', 'cli-bad', '-g', 'kv-cli-rg',
             '--retention-days', '3'], /\(BadRequest\).*softDeleteRetention/);
    });

    test('show (with or without -g) and list', () => {
      const shown = cliJson(['keyvault', 'show', '-n', 'cli-vault']);
      assert.equal(shown.resourceGroup, 'kv-cli-rg');
      assert.deepEqual(
          cliJson(['keyvault', 'show', '-n', 'cli-vault', '-g', 'kv-cli-rg']),
          shown);
      const all = cliJson(['keyvault', 'list']);
      const item = all.find((x) => x.name === 'cli-vault');
      assert.equal(item.resourceGroup, 'kv-cli-rg');
      assert.equal(item.type, 'Microsoft.KeyVault/vaults');
      const inGroup = cliJson(['keyvault', 'list', '-g', 'kv-cli-rg']);
      assert.deepEqual(inGroup.map((x) => x.name), ['cli-vault']);
      assert.equal(inGroup[0].properties.softDeleteRetentionInDays, 7);
      fails(['keyvault', 'show', '-n', 'no-such-vault'],
            /not found within subscription/);
    });

    test('set-policy and delete-policy edit the vault\'s policies', () => {
      let v = cliJson(['keyvault', 'set-policy', '-n', 'cli-vault',
                       '--object-id', other, '--key-permissions', 'get',
                       'wrapKey', 'unwrapKey', 'get']);
      let p = v.properties.accessPolicies.find((x) => x.objectId === other);
      assert.deepEqual(p.permissions.keys, ['get', 'wrapKey', 'unwrapKey']);
      // Lists not given are kept.
      v = cliJson(['keyvault', 'set-policy', '-n', 'cli-vault', '-g',
                   'kv-cli-rg', '--object-id', other,
                   '--secret-permissions', 'get']);
      p = v.properties.accessPolicies.find((x) => x.objectId === other);
      assert.deepEqual(p.permissions.keys, ['get', 'wrapKey', 'unwrapKey']);
      assert.deepEqual(p.permissions.secrets, ['get']);
      assert.equal(v.properties.accessPolicies.length, 2);

      v = cliJson(['keyvault', 'delete-policy', '-n', 'cli-vault',
                   '--object-id', other]);
      assert.deepEqual(v.properties.accessPolicies.map((x) => x.objectId),
                       [server.creds.objectId]);
      fails(['keyvault', 'delete-policy', '-n', 'cli-vault', '--object-id',
             other], /No matching policies found/);
    });

    test('update changes network rules; purge protection sticks', () => {
      let v = cliJson(['keyvault', 'update', '-n', 'cli-vault',
                       '--default-action', 'Allow', '--ip-rules', '10.3.0.1']);
      assert.equal(v.properties.networkAcls.defaultAction, 'Allow');
      assert.equal(v.properties.networkAcls.bypass, 'None');
      assert.deepEqual(v.properties.networkAcls.ipRules, [{value: '10.3.0.1'}]);
      assert.deepEqual(v.tags, {team: 'ml'});
      v = cliJson(['keyvault', 'create', '-n', 'cli-protected', '-g',
                   'kv-cli-rg', '--retention-days', '7',
                   '--enable-purge-protection']);
      assert.equal(v.properties.enablePurgeProtection, true);
      fails(['keyvault', 'update', '-n', 'cli-protected',
             '--enable-purge-protection', 'false'], /\(BadRequest\)/);
    });

    test('RBAC vaults have no policies to set or delete', () => {
      const v = cliJson(['keyvault', 'create', '-n', 'cli-rbac', '-g',
                         'kv-cli-rg', '-l', 'eastus',
                         '--enable-rbac-authorization']);
      assert.equal(v.location, 'eastus');
      assert.equal(v.properties.enableRbacAuthorization, true);
      assert.deepEqual(v.properties.accessPolicies, []);
      fails(['keyvault', 'set-policy', '-n', 'cli-rbac', '--object-id', other,
             '--key-permissions', 'get'],
            /Cannot set policies to a vault with '--enable-rbac-authorization'/);
      fails(['keyvault', 'delete-policy', '-n', 'cli-rbac', '--object-id',
             other],
            /Cannot delete policies to a vault with '--enable-rbac-auth/);
    });

    test('audit prints the vault\'s audit events', () => {
      const events = cliJson(['keyvault', 'audit', '-n', 'cli-rbac']);
      assert.ok(Array.isArray(events));
    });

    test('delete and purge', () => {
      let r = cli(['keyvault', 'delete', '-n', 'cli-vault']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      fails(['keyvault', 'show', '-n', 'cli-vault', '-g', 'kv-cli-rg'],
            /ResourceNotFound/);
      r = cli(['keyvault', 'purge', '-n', 'cli-vault']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      fails(['keyvault', 'purge', '-n', 'cli-vault'],
            /No deleted Vault or HSM was found with name cli-vault/);

      r = cli(['keyvault', 'delete', '-n', 'cli-protected', '-g', 'kv-cli-rg']);
      assert.equal(r.status, 0, r.stderr);
      fails(['keyvault', 'purge', '-n', 'cli-protected', '-l', 'westeurope'],
            /\(Forbidden\).*purge protection/);
    });
  });

  // `atrest keyvault key ...`, as `az keyvault key` (reference/keyvault-api.md
  // §3), against the vault's data plane with the token login saved.
  describe('atrest keyvault key', () => {
    const vault = 'cli-keys';
    const kv = (...args) => ['keyvault', 'key', ...args, '--vault-name', vault];
    const fails = (args, pattern) => {
      const r = cli(args);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, pattern);
      return r;
    };
    let origin;
    let firstKid;

    before(() => {
      origin = server.origin(`${vault}.vault`);
      cliJson(['group', 'create', '-n', 'kv-key-rg', '-l', 'westeurope']);
      cliJson(['keyvault', 'create', '-n', vault, '-g', 'kv-key-rg',
               '--retention-days', '7']);
      // az's default policy has neither rotate nor purge.
      cliJson(['keyvault', 'set-policy', '-n', vault, '--object-id',
               server.creds.objectId, '--key-permissions', 'get', 'list',
               'create', 'delete', 'update', 'import', 'backup', 'restore',
               'recover', 'purge', 'rotate']);
    });

    test('login saved a key vault token; an old profile asks to log in', () => {
      const text = readFileSync(profilePath(), 'utf8');
      const profile = JSON.parse(text);
      assert.equal(profile.vaultResource, server.origin('vault'));
      assert.ok(profile.vaultAccessToken);
      assert.ok(Date.parse(profile.vaultExpiresOn) > Date.now());
      assert.ok(!text.includes(server.creds.clientSecret));
      const old = {...profile};
      delete old.vaultResource;
      delete old.vaultAccessToken;
      delete old.vaultExpiresOn;
      writeFileSync(profilePath(), JSON.stringify(old), {mode: 0o600});
      try {
        fails(kv('list'), /no key vault token.*run atrest login again/);
        // Management commands still work with the old profile.
        assert.ok(Array.isArray(cliJson(['group', 'list'])));
      } finally {
        writeFileSync(profilePath(), text, {mode: 0o600});
      }
    });

    test('create, show and list', () => {
      const k = cliJson(kv('create', '--name', 'k1', '--kty', 'RSA', '--size',
                           '3072', '--protection', 'software', '--ops',
                           'encrypt', 'decrypt', 'sign', '--tags', 'team=ml',
                           '--not-before', '2024-01-01T00:00:00Z',
                           '--expires', '2030-01-01T00:00:00Z'));
      firstKid = k.key.kid;
      assert.match(firstKid, new RegExp(`^${origin}/keys/k1/[0-9a-f]{32}$`));
      assert.equal(k.key.kty, 'RSA');
      assert.deepEqual(k.key.key_ops, ['encrypt', 'decrypt', 'sign']);
      assert.equal(Buffer.from(k.key.n, 'base64url').length, 384);
      assert.equal(k.key.e, 'AQAB');
      assert.equal(k.key.d, undefined);
      assert.equal(k.attributes.enabled, true);
      assert.equal(k.attributes.nbf, 1704067200);
      assert.equal(k.attributes.exp, 1893456000);
      assert.deepEqual(k.tags, {team: 'ml'});

      const shown = cliJson(kv('show', '-n', 'k1'));
      assert.equal(shown.key.kid, firstKid);
      assert.equal(shown.key.n, k.key.n);
      const byVersion = cliJson(kv('show', '-n', 'k1', '--version',
                                   firstKid.split('/').pop()));
      assert.equal(byVersion.key.kid, firstKid);

      const list = cliJson(kv('list'));
      assert.ok(Array.isArray(list));
      const item = list.find((x) => x.kid === `${origin}/keys/k1`);
      assert.ok(item, JSON.stringify(list));
      assert.deepEqual(item.tags, {team: 'ml'});
    });

    test('rotate, list-versions and set-attributes --enabled false', () => {
      const rotated = cliJson(kv('rotate', '-n', 'k1'));
      assert.notEqual(rotated.key.kid, firstKid);
      assert.ok(rotated.key.kid.startsWith(`${origin}/keys/k1/`));
      const versions = cliJson(kv('list-versions', '-n', 'k1'));
      assert.deepEqual(versions.map((v) => v.kid).sort(),
                       [firstKid, rotated.key.kid].sort());

      const off = cliJson(kv('set-attributes', '-n', 'k1', '--enabled',
                             'false', '--tags', 'team=ops'));
      assert.equal(off.key.kid, rotated.key.kid);
      assert.equal(off.attributes.enabled, false);
      assert.deepEqual(off.tags, {team: 'ops'});
      const on = cliJson(kv('set-attributes', '-n', 'k1', '--version',
                            firstKid.split('/').pop(), '--enabled', 'true'));
      assert.equal(on.key.kid, firstKid);
      assert.equal(on.attributes.enabled, true);
      fails(kv('set-attributes', '-n', 'k1', '--expires', 'soon'),
            /--expires: 'soon' is not an ISO 8601 UTC time/);
    });

    test('backup to a file, delete, purge and restore from it', () => {
      const dir = mkdtempSync(path.join(home, 'backup-'));
      const file = path.join(dir, 'k1.blob');
      let r = cli(kv('backup', '-n', 'k1', '--file', file));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(statSync(file).size > 0);
      fails(kv('backup', '-n', 'k1', '--file', file), /already exists/);

      const deleted = cliJson(kv('delete', '--name', 'k1'));
      assert.equal(deleted.recoveryId, `${origin}/deletedkeys/k1`);
      assert.ok(Number.isInteger(deleted.deletedDate));
      assert.ok(deleted.scheduledPurgeDate > deleted.deletedDate);
      assert.ok(deleted.key.kid.startsWith(`${origin}/keys/k1/`));
      r = cli(kv('purge', '--name', 'k1'));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      fails(kv('show', '-n', 'k1'), /KeyNotFound/);

      const restored = cliJson(kv('restore', '--file', file));
      assert.ok(restored.key.kid.startsWith(`${origin}/keys/k1/`));
      const versions = cliJson(kv('list-versions', '-n', 'k1'));
      assert.ok(versions.some((v) => v.kid === firstKid));
      assert.equal(versions.length, 2);
    });

    test('delete and recover', () => {
      const deleted = cliJson(kv('delete', '-n', 'k1'));
      assert.equal(deleted.recoveryId, `${origin}/deletedkeys/k1`);
      fails(kv('show', '-n', 'k1'), /KeyNotFound/);
      const recovered = cliJson(kv('recover', '-n', 'k1'));
      assert.ok(recovered.key.kid.startsWith(`${origin}/keys/k1/`));
      assert.equal(recovered.recoveryId, undefined);
      assert.equal(cliJson(kv('show', '-n', 'k1')).key.kid,
                   recovered.key.kid);
    });

    test('import PKCS#8 and PKCS#1 PEM keys made by node:crypto', () => {
      const {privateKey, publicKey} =
          generateKeyPairSync('rsa', {modulusLength: 2048});
      const jwk = publicKey.export({format: 'jwk'});
      const dir = mkdtempSync(path.join(home, 'pem-'));
      const forms = {pkcs8: 'imp8', pkcs1: 'imp1'};
      for (const [type, name] of Object.entries(forms)) {
        const file = path.join(dir, `${type}.pem`);
        writeFileSync(file, privateKey.export({type, format: 'pem'}),
                      {mode: 0o600});
        const k = cliJson(kv('import', '-n', name, '--pem-file', file,
                             '--ops', 'sign', 'verify', '--tags', 'src=pem'));
        assert.ok(k.key.kid.startsWith(`${origin}/keys/${name}/`));
        assert.equal(k.key.n, jwk.n);
        assert.equal(k.key.e, jwk.e);
        assert.equal(k.key.d, undefined);
        assert.deepEqual(k.key.key_ops, ['sign', 'verify']);
        assert.deepEqual(k.tags, {src: 'pem'});
      }
      const bad = path.join(dir, 'public.pem');
      writeFileSync(bad, publicKey.export({type: 'spki', format: 'pem'}));
      fails(kv('import', '-n', 'imp-bad', '--pem-file', bad),
            /holds no private key/);
      assert.ok(!existsSync(path.join(dir, 'nothing')));
    });

    test('show of a missing key fails with KeyNotFound', () => {
      const r = fails(kv('show', '-n', 'no-such-key'), /\(KeyNotFound\)/);
      assert.match(r.stderr, /no-such-key/);
      assert.equal(r.stdout, '');
    });
  });
});

// `atrest serve` and `atrest ad` flags: the spellings a user guesses, typed
// values, and which tenant `ad` works in without --tenant.
describe('atrest serve and atrest ad flags', () => {
  let dataDir;
  let port;
  let child;
  let creds;
  const scratch = () => mkdtempSync(
      path.join(process.env.ATREST_TEST_ROOT ?? tmpdir(), 'cli-flags-'));

  before(async () => {
    dataDir = scratch();
    cpSync(process.env.ATREST_TEST_TLS_DIR, path.join(dataDir, 'tls'),
           {recursive: true});
    port = await freePort();
    // The short spellings only: --port, --data-dir; a boolean as a bare
    // flag is "true" and as "false" false.
    child = spawn(atrestBin, ['serve', '--port', String(port), '--data-dir',
                              dataDir, '--server-access-log', '',
                              '--hsm-module-may-wait', 'false'],
                  {stdio: ['ignore', 'pipe', 'pipe'], cwd: scratch()});
    let output = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
          () => reject(new Error(`atrest did not start:\n${output}`)), 30000);
      const seen = (d) => {
        output += d;
        if (output.includes('administrator credentials:')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`atrest exited with ${code}:\n${output}`));
      });
    });
    assert.match(output, new RegExp(`login\\.localhost:${port}`));
    creds = JSON.parse(readFileSync(path.join(dataDir, 'admin-credentials.json'),
                                    'utf8'));
  });
  after(() => { child?.kill('SIGTERM'); });

  test('serve --help says what each flag takes, with the short spellings',
       () => {
    const help = execFileSync(atrestBin, ['serve', '--help'],
                              {encoding: 'utf8'});
    assert.match(help, /--server-port,--port INT/);
    assert.match(help, /--server-data-dir,--data-dir TEXT/);
    assert.match(help, /--server-domain,--domain TEXT/);
    assert.match(help, /--crypto-fips BOOLEAN/);
    assert.match(help, /--hsm-module-may-wait BOOLEAN/);
    assert.match(help, /--accounts-kek-recheck-seconds INT/);
    assert.match(help, /--accounts-vault-suffixes LIST/);
    const tls = execFileSync(atrestBin, ['tls-init', '--help'],
                             {encoding: 'utf8'});
    assert.match(tls, /--data-dir,--server-data-dir/);
    const ad = execFileSync(atrestBin, ['ad', '--help'], {encoding: 'utf8'});
    assert.match(ad, /--data-dir,--server-data-dir/);
  });

  test('bad values are refused before the server starts', () => {
    const cwd = scratch();
    for (const [args, pattern] of [
      [['--port', 'abc'], /--server-port/],
      [['--port', '70000'], /65535/],
      [['--server-threads', '1.5'], /--server-threads/],
      [['--crypto-fips', 'maybe'], /--crypto-fips/],
      [['--accounts-vault-suffixes', '127.0.0.1'], /key vault suffix/],
    ]) {
      const r = spawnSync(atrestBin, ['serve', ...args],
                          {encoding: 'utf8', cwd});
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
    }
    assert.ok(!existsSync(path.join(cwd, 'atrest-data')),
              'a refused start made a data dir');
  });

  // Was: without --tenant, `atrest ad` took the tenant with the smallest
  // created_at; tenants made within the same second tied and the first by
  // id won, so `sp create-for-rbac --scopes /subscriptions/<default>`
  // failed at random once `ad tenant create` had been run.
  test('ad without --tenant works in the first-start tenant, else refuses',
       () => {
    const ad = (...args) => JSON.parse(execFileSync(
        atrestBin, ['ad', '--data-dir', dataDir, ...args], {encoding: 'utf8'}));
    const others = [1, 2, 3].map((i) => ad('tenant', 'create', '--name',
                                           `Other ${i}`).tenantId);
    const sp = ad('sp', 'create-for-rbac', '--name', 'ci', '--role',
                  'Contributor', '--scopes',
                  `/subscriptions/${creds.subscriptionId}`);
    assert.equal(sp.tenant, creds.tenantId);
    assert.ok(ad('sp', 'list').some((p) => p.appId === sp.appId));
    // --server-data-dir is the same flag; --tenant picks another.
    const listed = JSON.parse(execFileSync(
        atrestBin, ['ad', '--server-data-dir', dataDir, '--tenant', others[0],
                    'sp', 'list'], {encoding: 'utf8'}));
    assert.deepEqual(listed, []);

    // A data dir made before the record existed: the administrator's
    // credentials name the tenant.
    rmSync(path.join(dataDir, 'bootstrap.json'));
    assert.ok(ad('sp', 'list').some((p) => p.appId === sp.appId));

    // Nothing tells: refused, naming the tenants, rather than guessed.
    const credsFile = path.join(dataDir, 'admin-credentials.json');
    renameSync(credsFile, `${credsFile}.moved`);
    try {
      const r = spawnSync(atrestBin, ['ad', '--data-dir', dataDir, 'sp',
                                      'list'], {encoding: 'utf8'});
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /several tenants.*--tenant/);
      for (const id of [creds.tenantId, ...others]) {
        assert.ok(r.stderr.includes(id), r.stderr);
      }
      assert.equal(r.stdout, '');
      const unknown = spawnSync(atrestBin, [
        'ad', '--data-dir', dataDir, '--tenant',
        '00000000-0000-4000-8000-000000000000', 'sp', 'list'],
                                {encoding: 'utf8'});
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /no tenant 00000000/);
    } finally {
      renameSync(`${credsFile}.moved`, credsFile);
    }
  });
});
