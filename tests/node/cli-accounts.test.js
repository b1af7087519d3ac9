// `atrest cognitiveservices account ...` and `atrest resource move`: the real
// binary against a real server over HTTPS, as `az cognitiveservices account`
// and `az resource move` are used: create with an identity, show, list, API
// keys, the identity, customer-managed keys by URI parts or key identifier,
// moving to another group, delete.
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import OpenAI, {toFile} from 'openai';

import {atrestBin, startServer} from './support/atrest.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let server;
let env;
let sub;

const rg = 'cli-ai-rg';
const otherRg = 'cli-ai-rg-2';
const name = 'cli-ai';

/** Runs the CLI; returns {status, stdout, stderr}. */
function cli(args) {
  const r = spawnSync(atrestBin, args, {encoding: 'utf8', env});
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}

function cliJson(args) {
  return JSON.parse(execFileSync(atrestBin, args, {encoding: 'utf8', env}));
}

function fails(args, pattern) {
  const r = cli(args);
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(r.stderr, pattern);
  return r;
}

const account = (...args) => ['cognitiveservices', 'account', ...args];

/** A fresh HOME for the CLI's profile, logged in to `srv` as its admin. */
function login(srv, homePrefix) {
  const home = mkdtempSync(path.join(
      process.env.ATREST_TEST_ROOT ?? tmpdir(), homePrefix));
  env = {...process.env, HOME: home,
         XDG_CONFIG_HOME: path.join(home, 'config')};
  delete env.ATREST_CLIENT_SECRET;
  cliJson(['login', '--service-principal', '-u', srv.creds.clientId,
           '-p', srv.creds.clientSecret, '-t', srv.creds.tenantId,
           '--authority', srv.origin('login'),
           '--management-endpoint', srv.origin('management')]);
}

describe('atrest cognitiveservices account and atrest resource move', () => {
  let created;
  let principalId;

  before(async () => {
    server = await startServer();
    sub = server.creds.subscriptionId;
    login(server, 'cli-accounts-home-');
    cliJson(['group', 'create', '-n', rg, '-l', 'westeurope']);
    cliJson(['group', 'create', '-n', otherRg, '-l', 'westeurope']);
  });
  after(async () => { await server?.stop(); });

  test('create with --assign-identity', () => {
    created = cliJson(account('create', '-n', name, '-g', rg,
                              '-l', 'westeurope', '--assign-identity',
                              '--tags', 'team=ml', 'env'));
    assert.equal(created.id, `/subscriptions/${sub}/resourceGroups/${rg}/` +
                                 `providers/Microsoft.CognitiveServices/` +
                                 `accounts/${name}`);
    assert.equal(created.name, name);
    assert.equal(created.resourceGroup, rg);
    assert.equal(created.type, 'Microsoft.CognitiveServices/accounts');
    assert.equal(created.kind, 'OpenAI');
    assert.deepEqual(created.sku, {name: 'S0'});
    assert.equal(created.location, 'westeurope');
    assert.deepEqual(created.tags, {team: 'ml', env: ''});
    assert.equal(created.identity.type, 'SystemAssigned');
    assert.match(created.identity.principalId, GUID);
    assert.equal(created.properties.provisioningState, 'Succeeded');
    assert.equal(created.properties.encryption.keySource,
                 'Microsoft.CognitiveServices');
    principalId = created.identity.principalId;

    // Without the flag, no identity; another kind is refused by the server.
    const plain = cliJson(account('create', '-n', 'cli-ai-plain', '-g', rg,
                                  '-l', 'westeurope'));
    assert.equal(plain.identity.type, 'None');
    fails(account('create', '-n', 'cli-ai-bad', '-g', rg, '-l', 'westeurope',
                  '--kind', 'Face'), /\(InvalidApiSetId\)/);
    const del = cli(account('delete', '-n', 'cli-ai-plain', '-g', rg));
    assert.equal(del.status, 0, del.stderr);
  });

  test('show and list', () => {
    const shown = cliJson(account('show', '-n', name, '-g', rg));
    assert.equal(shown.id, created.id);
    assert.equal(shown.resourceGroup, rg);
    assert.deepEqual(shown.identity, created.identity);

    const inGroup = cliJson(account('list', '-g', rg));
    assert.deepEqual(inGroup.map((a) => a.name), [name]);
    assert.equal(inGroup[0].resourceGroup, rg);
    const all = cliJson(account('list'));
    assert.ok(all.some((a) => a.id === created.id));
    assert.deepEqual(cliJson(account('list', '-g', otherRg)), []);

    fails(account('show', '-n', 'no-such-account', '-g', rg),
          /\(ResourceNotFound\)/);
  });

  test('keys list and keys regenerate', () => {
    const keys = cliJson(account('keys', 'list', '-n', name, '-g', rg));
    assert.equal(typeof keys.key1, 'string');
    assert.equal(typeof keys.key2, 'string');
    assert.notEqual(keys.key1, keys.key2);

    const after1 = cliJson(account('keys', 'regenerate', '-n', name, '-g', rg,
                                   '--key-name', 'Key1'));
    assert.notEqual(after1.key1, keys.key1);
    assert.equal(after1.key2, keys.key2);
    assert.deepEqual(cliJson(account('keys', 'list', '-n', name, '-g', rg)),
                     after1);
    // az's lower-case spelling works too; other names are refused locally.
    const after2 = cliJson(account('keys', 'regenerate', '-n', name, '-g', rg,
                                   '--key-name', 'key2'));
    assert.equal(after2.key1, after1.key1);
    assert.notEqual(after2.key2, after1.key2);
    fails(account('keys', 'regenerate', '-n', name, '-g', rg,
                  '--key-name', 'Key3'), /--key-name/);
  });

  test('identity remove and assign', () => {
    const removed = cliJson(account('identity', 'remove', '-n', name,
                                    '-g', rg));
    assert.equal(removed.type, 'None');
    assert.equal(removed.principalId, undefined);
    assert.equal(cliJson(account('show', '-n', name, '-g', rg)).identity.type,
                 'None');

    const assigned = cliJson(account('identity', 'assign', '-n', name,
                                     '-g', rg));
    assert.equal(assigned.type, 'SystemAssigned');
    assert.match(assigned.principalId, GUID);
    assert.notEqual(assigned.principalId, principalId);
    assert.equal(assigned.tenantId, server.creds.tenantId);
    assert.deepEqual(cliJson(account('identity', 'show', '-n', name, '-g', rg)),
                     assigned);
    principalId = assigned.principalId;
  });

  test('update refuses bad key vault URIs', () => {
    fails(account('update', '-n', name, '-g', rg,
                  '--encryption-key-source', 'Microsoft.KeyVault',
                  '--encryption-key-vault', 'http://not-a-vault',
                  '--encryption-key-name', 'cmk'),
          /\(KeyVaultUriInvalid\)/);
    // Client-side: not a key identifier, or mixed with the parts.
    fails(account('update', '-n', name, '-g', rg,
                  '--encryption-key-id', 'https://v.example/secrets/x'),
          /is not a key identifier/);
    fails(account('update', '-n', name, '-g', rg,
                  '--encryption-key-id', 'https://v.example/keys/x',
                  '--encryption-key-name', 'y'),
          /cannot be combined/);
    fails(account('update', '-n', name, '-g', rg,
                  '--encryption-key-source', 'Microsoft.CognitiveServices',
                  '--encryption-key-name', 'y'),
          /need --encryption-key-source Microsoft.KeyVault/);
    const shown = cliJson(account('show', '-n', name, '-g', rg));
    assert.equal(shown.properties.encryption.keySource,
                 'Microsoft.CognitiveServices');
  });

  test('update: a customer-managed key by its identifier, and back', () => {
    const vault = 'cliaivault';
    cliJson(['keyvault', 'create', '-n', vault, '-g', rg,
             '--retention-days', '7', '--enable-purge-protection']);
    const key = cliJson(['keyvault', 'key', 'create', '--vault-name', vault,
                         '-n', 'cmk', '--kty', 'RSA', '--size', '2048',
                         '--ops', 'wrapKey', 'unwrapKey']);
    cliJson(['keyvault', 'set-policy', '-n', vault, '--object-id', principalId,
             '--key-permissions', 'get', 'wrapKey', 'unwrapKey']);
    const kid = key.key.kid;
    const version = kid.split('/').pop();

    let a = cliJson(account('update', '-n', name, '-g', rg,
                            '--encryption-key-id', kid));
    const vaultUri = `${server.origin(`${vault}.vault`)}/`;
    assert.deepEqual(a.properties.encryption, {
      keySource: 'Microsoft.KeyVault',
      keyVaultProperties: {keyVaultUri: vaultUri, keyName: 'cmk',
                           keyVersion: version},
    });
    assert.equal(a.properties.encryptionStatus.state, 'active');
    assert.equal(a.properties.encryptionStatus.keyVersion, version);

    // The parts, versionless (the latest version, followed).
    a = cliJson(account('update', '-n', name, '-g', rg,
                        '--encryption-key-vault', vaultUri,
                        '--encryption-key-name', 'cmk'));
    assert.equal(a.properties.encryption.keySource, 'Microsoft.KeyVault');
    assert.equal(a.properties.encryption.keyVaultProperties.keyVersion, '');
    assert.equal(a.properties.encryptionStatus.keyVersion, version);

    a = cliJson(account('update', '-n', name, '-g', rg,
                        '--encryption-key-source',
                        'Microsoft.CognitiveServices', '--tags', 'stage=prod'));
    assert.deepEqual(a.properties.encryption,
                     {keySource: 'Microsoft.CognitiveServices'});
    assert.deepEqual(a.tags, {stage: 'prod'});
    assert.equal(a.resourceGroup, rg);
  });

  test('resource move to another group', () => {
    // Every id must be of one group; refused before any request.
    fails(['resource', 'move', '--ids', created.id,
           created.id.replace(`/resourceGroups/${rg}/`,
                              `/resourceGroups/${otherRg}/`),
           '--destination-group', otherRg],
          /All resources should be under the same group/);
    fails(['resource', 'move', '--ids', 'not-an-id', '--destination-group',
           otherRg], /is not a valid resource id/);

    const r = cli(['resource', 'move', '--ids', created.id,
                   '--destination-group', otherRg]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');

    const moved = cliJson(account('show', '-n', name, '-g', otherRg));
    assert.equal(moved.id, created.id.replace(`/resourceGroups/${rg}/`,
                                              `/resourceGroups/${otherRg}/`));
    assert.equal(moved.resourceGroup, otherRg);
    assert.equal(moved.identity.principalId, principalId);
    fails(account('show', '-n', name, '-g', rg), /\(ResourceNotFound\)/);
    assert.deepEqual(cliJson(account('list', '-g', rg)), []);
  });

  test('delete', () => {
    const r = cli(account('delete', '-n', name, '-g', otherRg));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    fails(account('show', '-n', name, '-g', otherRg), /\(ResourceNotFound\)/);
    assert.ok(!cliJson(account('list')).some((a) => a.name === name));
  });
});

// `atrest cognitiveservices account deployment ...`, as `az cognitiveservices
// account deployment`: deploy a model fine-tuned through the openai client,
// show, list, answer, delete.
describe('atrest cognitiveservices account deployment', () => {
  const depRg = 'cli-dep-rg';
  const depAccount = 'cli-dep';
  let model;
  let srv;
  let chat;

  before(async () => {
    srv = await startServer();
    sub = srv.creds.subscriptionId;
    login(srv, 'cli-deploy-home-');
    cliJson(['group', 'create', '-n', depRg, '-l', 'westeurope']);
    cliJson(account('create', '-n', depAccount, '-g', depRg,
                    '-l', 'westeurope'));
    const {key1} = cliJson(account('keys', 'list', '-n', depAccount,
                                   '-g', depRg));
    const client = new OpenAI({
      baseURL: `${srv.origin(`${depAccount}.openai`)}/openai/v1/`,
      apiKey: key1, maxRetries: 0});
    const lines = [];
    for (let i = 0; i < 12; i++) {
      lines.push(JSON.stringify({messages: [
        {role: 'user', content: `What is the code for crate ${i}?`},
        {role: 'assistant', content: `Crate ${i} opens with code ${7000 + i}.`},
      ]}));
    }
    const file = await client.files.create({
      file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'train.jsonl'),
      purpose: 'fine-tune'});
    let job = await client.fineTuning.jobs.create(
        {model: 'atrest-ngram-1', training_file: file.id});
    for (let i = 0; i < 300 && !['succeeded', 'failed'].includes(job.status);
         i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await client.fineTuning.jobs.retrieve(job.id);
    }
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    model = job.fine_tuned_model;
    chat = (messages) => client.chat.completions.create(
        {model: 'cli-bot', messages, temperature: 0});
  });
  after(async () => { await srv?.stop(); });

  const deployment = (...args) =>
    account('deployment', ...args, '-n', depAccount, '-g', depRg);

  test('create, show, list, answer, delete', async () => {
    const created = cliJson(deployment(
        'create', '--deployment-name', 'cli-bot', '--model-name', model,
        '--model-format', 'OpenAI', '--model-version', '1',
        '--sku-name', 'Standard', '--sku-capacity', '1'));
    assert.equal(created.name, 'cli-bot');
    assert.equal(created.resourceGroup, depRg);
    assert.equal(created.id, `/subscriptions/${sub}/resourceGroups/${depRg}/` +
        `providers/Microsoft.CognitiveServices/accounts/${depAccount}/` +
        `deployments/cli-bot`);
    assert.deepEqual(created.properties.model,
                     {format: 'OpenAI', name: model, version: '1'});
    assert.equal(created.properties.provisioningState, 'Succeeded');
    assert.deepEqual(created.sku, {name: 'Standard', capacity: 1});

    const shown = cliJson(deployment('show', '--deployment-name', 'cli-bot'));
    assert.deepEqual(shown.properties.model, created.properties.model);
    assert.deepEqual(cliJson(deployment('list')).map((d) => d.name),
                     ['cli-bot']);

    const reply = await chat(
        [{role: 'user', content: 'What is the code for crate 5?'}]);
    assert.equal(reply.choices[0].message.content,
                 'Crate 5 opens with code 7005.');

    fails(deployment('create', '--deployment-name', 'nope',
                     '--model-name', 'no-such-model'),
          /\(DeploymentModelNotFound\)/);
    fails(deployment('show', '--deployment-name', 'nope'),
          /\(DeploymentNotFound\)/);
    fails(account('deployment', 'create', '-n', depAccount, '-g', depRg,
                  '--deployment-name', 'x'), /--model-name is required/);

    const r = cli(deployment('delete', '--deployment-name', 'cli-bot'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(cliJson(deployment('list')), []);
    await assert.rejects(
        chat([{role: 'user', content: 'What is the code for crate 5?'}]),
        (e) => e.status === 404 && e.code === 'DeploymentNotFound');
  });
});
