// Management-plane helpers shared by client tests that need accounts, key
// vaults and customer-managed keys on a running atrest server (the same
// steps cmk.test.js walks: a vault with soft delete and purge protection,
// an RSA 2048 key, the account's system-assigned identity and its access
// policy). Everything goes through the unmodified Azure SDKs, except
// `armFetch`, a raw ARM request for properties the SDKs do not model.
import {performance} from 'node:perf_hooks';

import {CognitiveServicesManagementClient} from '@azure/arm-cognitiveservices';
import {KeyVaultManagementClient} from '@azure/arm-keyvault';
import {ResourceManagementClient} from '@azure/arm-resources';
import {ClientSecretCredential} from '@azure/identity';
import {KeyClient} from '@azure/keyvault-keys';

export const VAULT = 'Microsoft.KeyVault';
export const SERVICE = 'Microsoft.CognitiveServices';
export const CMK_OPS = ['get', 'wrapKey', 'unwrapKey'];
export const ARM_API = '2024-10-01';  // api-version of raw ARM requests.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` every `interval` ms until it returns a truthy value; resolves
 *  to {ms, value}, or null after `limit` ms. */
export async function poll(fn, limit, interval = 150) {
  const t0 = performance.now();
  for (;;) {
    const value = await fn();
    if (value) return {ms: performance.now() - t0, value};
    if (performance.now() - t0 > limit) return null;
    await sleep(interval);
  }
}

/** A credential for `creds` ({tenantId, clientId, clientSecret}) issued by
 *  the server's login endpoint. */
export function credentialFor(server, creds = server.creds) {
  return new ClientSecretCredential(creds.tenantId, creds.clientId,
                                    creds.clientSecret, {
                                      authorityHost: server.origin('login'),
                                      disableInstanceDiscovery: true,
                                    });
}

/** The administrator's ARM view of one server: SDK clients, one resource
 *  group, and the CMK steps. `server` may be replaced after a restart on
 *  the same port and data dir (URLs and credentials stay valid). */
export class Arm {
  constructor(server, {group = 'rg-ft', location = 'westeurope'} = {}) {
    this.server = server;
    this.group = group;
    this.location = location;
    this.credential = credentialFor(server);
    this.sub = server.creds.subscriptionId;
    const endpoint = server.origin('management');
    this.cs = new CognitiveServicesManagementClient(this.credential, this.sub,
                                                    {endpoint});
    this.kv = new KeyVaultManagementClient(this.credential, this.sub,
                                           {endpoint});
    this.rm = new ResourceManagementClient(this.credential, this.sub,
                                           {endpoint});
  }

  async init() {
    await this.rm.resourceGroups.createOrUpdate(this.group,
                                                {location: this.location});
    return this;
  }

  /** An OpenAI account; resolves to {account, keys}. */
  async createAccount(name, {identity = true} = {}) {
    const account = await this.cs.accounts.beginCreateAndWait(
        this.group, name, {
          location: this.location, kind: 'OpenAI', sku: {name: 'S0'},
          identity: {type: identity ? 'SystemAssigned' : 'None'}});
    const keys = await this.cs.accounts.listKeys(this.group, name);
    return {account, keys};
  }

  /** A vault fit for CMK (soft delete, purge protection); the administrator
   *  may do anything with its keys. */
  async createVault(name, extra = {}) {
    const {tenantId, objectId} = this.server.creds;
    return this.kv.vaults.beginCreateOrUpdateAndWait(this.group, name, {
      location: this.location, properties: {
        tenantId, sku: {family: 'A', name: 'standard'},
        enableSoftDelete: true, enablePurgeProtection: true,
        softDeleteRetentionInDays: 7,
        accessPolicies: [{tenantId, objectId, permissions: {keys: ['all']}}],
        ...extra,
      }});
  }

  keyClient(vaultUri) { return new KeyClient(vaultUri, this.credential); }

  policy(objectId, permissions = CMK_OPS) {
    return {properties: {accessPolicies: [{
      tenantId: this.server.creds.tenantId, objectId,
      permissions: {keys: permissions},
    }]}};
  }

  async grant(vault, objectId, permissions = CMK_OPS) {
    await this.kv.vaults.updateAccessPolicy(this.group, vault, 'add',
                                            this.policy(objectId, permissions));
  }

  async revoke(vault, objectId) {
    await this.kv.vaults.updateAccessPolicy(this.group, vault, 'remove',
                                            this.policy(objectId));
  }

  /** PATCHes the account's encryption to the key ({vaultUri, keyName,
   *  keyVersion}). */
  async useKey(account, {vaultUri, keyName, keyVersion}) {
    const keyVaultProperties = {keyVaultUri: vaultUri, keyName};
    if (keyVersion !== undefined) keyVaultProperties.keyVersion = keyVersion;
    return this.cs.accounts.beginUpdateAndWait(this.group, account, {
      properties: {encryption: {keySource: VAULT, keyVaultProperties}}});
  }

  /** A new vault and RSA 2048 key, the account's identity granted get,
   *  wrapKey and unwrapKey, and the account encrypted by that key.
   *  Resolves to {vault, principal, key, account}. */
  async enableCmk(account, vault) {
    const v = await this.createVault(vault);
    const key = await this.keyClient(v.properties.vaultUri)
                    .createRsaKey('cmk', {keySize: 2048});
    let a = await this.cs.accounts.get(this.group, account);
    if (!a.identity?.principalId) {
      a = await this.cs.accounts.beginUpdateAndWait(this.group, account, {
        identity: {type: 'SystemAssigned'}});
    }
    const principal = a.identity.principalId;
    await this.grant(vault, principal);
    a = await this.useKey(account, keyRef(key));
    return {vault, principal, key, account: a};
  }

  accountPath(name) {
    return `/subscriptions/${this.sub}/resourceGroups/${this.group}/` +
        `providers/Microsoft.CognitiveServices/accounts/${name}`;
  }

  /** A raw ARM request with the administrator's token: {status, json}. */
  async armFetch(path, {method = 'GET', body} = {}) {
    const token = (await this.credential.getToken(
        `${this.server.origin('management')}/.default`)).token;
    const sep = path.includes('?') ? '&' : '?';
    const res = await fetch(
        `${this.server.origin('management')}${path}${sep}api-version=` +
            ARM_API,
        {method, headers: {'content-type': 'application/json',
                           authorization: `Bearer ${token}`},
         body: body ? JSON.stringify(body) : undefined});
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = {text}; }
    return {status: res.status, json};
  }
}

/** The parts of a key's id a portal user copies. */
export function keyRef(key) {
  return {vaultUri: `${key.properties.vaultUrl}/`, keyName: key.name,
          keyVersion: key.properties.version};
}
