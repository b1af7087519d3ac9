// A fake *external* Azure Key Vault for the client tests: the part of the
// Key Vault keys REST API (api-version 7.4) that a service holding a
// customer-managed key calls, served over HTTPS on 127.0.0.1 with a
// certificate for its host (by default "fakekv.vault.test.localhost")
// signed by the shared test CA (so atrest, which trusts that CA, accepts it
// as it would a real vault). Its suffix, "vault.test.localhost" at the
// fake's port, plays the part of "vault.azure.net": the server under test
// must allow it (--accounts-vault-suffixes vault.test.localhost:<port>).
//
// What it implements, as Azure Key Vault answers it:
// - the challenge: a request without a bearer token gets 401 with
//   `WWW-Authenticate: Bearer authorization="<login>/<tenant>",
//   resource="https://vault.test.localhost"` (the suffix's audience, as
//   Azure's vaults name "https://vault.azure.net"); `resource` and
//   `challengeHeader` change it, for vaults that ask for another audience;
// - GET /keys (a list), GET /keys/{name}[/{version}] (a key bundle: JWK and
//   attributes), POST /keys/{name}[/{version}]/wrapkey and /unwrapkey with
//   real RSA-OAEP-256 (SHA-256, MGF1-SHA-256) on keys it generates;
// - key versions (the newest is the current one);
// - switches: `revoked` (403 ForbiddenByPolicy, an access policy removed),
//   `forbidden` (any innererror code, e.g. ForbiddenByFirewall), per key
//   kty ("EC" keys carry crv/x/y instead of n/e), size, key_ops,
//   recoveryLevel, enabled/nbf/exp; `tenantId` (of the challenge).
//
// Every request is recorded in `requests` with the decoded JWT payload of
// its bearer token (`claims`), so a test can tell whose identity called;
// `connections` counts TCP connections, to show that nothing came at all.
import {execFileSync} from 'node:child_process';
import {generateKeyPair, generateKeyPairSync, privateDecrypt, publicEncrypt,
        randomBytes, constants} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import https from 'node:https';
import {tmpdir} from 'node:os';
import path from 'node:path';

export const VAULT_SUFFIX = 'vault.test.localhost';
export const VAULT_HOST = `fakekv.${VAULT_SUFFIX}`;
export const VAULT_RESOURCE = `https://${VAULT_SUFFIX}`;

const cached = new Map();  // host + kind -> {key, cert}: made once.

/** A server certificate for `host`, made with the openssl CLI: signed by
 *  the CA in `caDir` (ca.crt, ca.key), or, with `selfSigned`, by nobody
 *  atrest trusts. */
export function vaultCertificate({caDir = process.env.ATREST_TEST_TLS_DIR,
                                  selfSigned = false, host = VAULT_HOST} = {}) {
  const kind = `${host} ${selfSigned ? 'self-signed' : 'ca'}`;
  if (cached.has(kind)) return cached.get(kind);
  if (!selfSigned && !caDir) throw new Error('ATREST_TEST_TLS_DIR is not set');
  const dir = mkdtempSync(path.join(process.env.ATREST_TEST_ROOT ?? tmpdir(),
                                    'fakekv-'));
  try {
    const f = (n) => path.join(dir, n);
    const ext = [
      `subjectAltName=DNS:${host}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ];
    writeFileSync(f('ext.cnf'), ext.join('\n') + '\n');
    const keyArgs = ['-newkey', 'ec', '-pkeyopt',
                     'ec_paramgen_curve:prime256v1', '-nodes',
                     '-keyout', f('leaf.key'), '-subj', `/CN=${host}`];
    if (selfSigned) {
      execFileSync('openssl', [
        'req', '-x509', ...keyArgs, '-days', '2', '-sha256',
        ...ext.flatMap((e) => ['-addext', e]), '-out', f('leaf.crt')],
                   {stdio: 'pipe'});
    } else {
      execFileSync('openssl', ['req', '-new', ...keyArgs, '-out', f('leaf.csr')],
                   {stdio: 'pipe'});
      execFileSync('openssl', [
        'x509', '-req', '-in', f('leaf.csr'),
        '-CA', path.join(caDir, 'ca.crt'), '-CAkey', path.join(caDir, 'ca.key'),
        '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '2',
        '-sha256', '-extfile', f('ext.cnf'), '-out', f('leaf.crt')],
                   {stdio: 'pipe'});
    }
    const made = {key: readFileSync(f('leaf.key')),
                  cert: readFileSync(f('leaf.crt'))};
    cached.set(kind, made);
    return made;
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** The JWT payload of a bearer token (no signature check), or null. */
export function jwtClaims(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return null;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

function newVersionId() { return randomBytes(16).toString('hex'); }

// RSA key pairs made ahead of time (RSA key generation takes 0.1-1 s on a
// slow machine): modulus length -> [pair].
const pool = new Map();

/** Makes `count` RSA key pairs of `bits` in the background (libuv's
 *  threads), for createKey to take; resolves when they are ready. */
export async function prepareRsaKeys(bits, count) {
  const made = await Promise.all(Array.from({length: count}, () =>
    new Promise((resolve, reject) => generateKeyPair(
        'rsa', {modulusLength: bits},
        (err, publicKey, privateKey) =>
          err ? reject(err) : resolve({publicKey, privateKey})))));
  pool.set(bits, [...(pool.get(bits) ?? []), ...made]);
}

function rsaPair(bits) {
  return pool.get(bits)?.shift() ??
      generateKeyPairSync('rsa', {modulusLength: bits});
}

/** Makes the key material of one version. */
function makeVersion({kty = 'RSA', bits = 2048, keyOps, recoveryLevel,
                      enabled = true, nbf, exp} = {}) {
  const ec = kty.startsWith('EC');
  const pair = ec ?
      generateKeyPairSync('ec', {namedCurve: 'P-256'}) :
      rsaPair(bits);
  const jwk = pair.publicKey.export({format: 'jwk'});
  const now = Math.floor(Date.now() / 1000);
  return {
    version: newVersionId(),
    kty,
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
    jwk: ec ? {crv: jwk.crv, x: jwk.x, y: jwk.y} : {n: jwk.n, e: jwk.e},
    keyOps: keyOps ?? (ec ? ['sign', 'verify'] :
                       ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey',
                        'unwrapKey']),
    attributes: {enabled, nbf, exp, created: now, updated: now,
                 recoveryLevel: recoveryLevel ?? 'Recoverable',
                 recoverableDays: 90},
  };
}

/**
 * Starts a fake vault. `loginOrigin`: the authority of its tenant
 * ("https://login.localhost:<port>"); `tenantId`: the tenant its challenge
 * names; `selfSigned`: serve a certificate no CA atrest trusts signed;
 * `host`: the name it serves (and its certificate names); `port`: where it
 * listens (0: any free port). Returns the vault (see the fields below);
 * `close()` stops it.
 */
export async function startFakeVault({loginOrigin, tenantId, port = 0,
                                      selfSigned = false, host = VAULT_HOST,
                                      resource = VAULT_RESOURCE}) {
  const {key, cert} = vaultCertificate({selfSigned, host});
  const vault = {
    tenantId,
    loginOrigin,
    host,
    resource,             // The audience its challenge asks for.
    challengeHeader: null,  // When set, the whole WWW-Authenticate value.
    connections: 0,       // TCP connections accepted.
    revoked: false,       // 403 Forbidden/ForbiddenByPolicy to every caller.
    forbidden: null,      // Any other innererror code, e.g. ForbiddenByFirewall.
    keys: new Map(),      // lower-case name -> {name, versions: [...]}
    requests: [],         // {method, path, op, name, version, apiVersion,
                          //  authorization, claims, alg, status, code,
                          //  unwrappedBytes}
    tlsErrors: [],        // TLS handshakes that failed (a client refused us)
    port: 0,
    uri: '',
    /** Creates a key (or a new version of it); returns the version. */
    createKey(name, opts = {}) {
      const k = this.keys.get(name.toLowerCase()) ?? {name, versions: []};
      const v = makeVersion(opts);
      k.versions.push(v);
      this.keys.set(name.toLowerCase(), k);
      return v;
    },
    /** A version (the current one when `version` is empty), or undefined. */
    version(name, version) {
      const k = this.keys.get(name.toLowerCase());
      if (!k) return undefined;
      if (!version) return k.versions[k.versions.length - 1];
      return k.versions.find((v) => v.version === version.toLowerCase());
    },
    kid(name, version) { return `${this.uri}keys/${name}/${version}`; },
    /** Recorded requests that carried a token (of `op` when given). */
    authenticated(op) {
      return this.requests.filter((r) => r.claims && (!op || r.op === op));
    },
    clear() { this.requests.length = 0; },
  };

  const bundle = (name, v) => {
    const attributes = {...v.attributes};
    for (const a of ['nbf', 'exp']) {
      if (attributes[a] === undefined) delete attributes[a];
    }
    return {key: {kid: vault.kid(name, v.version), kty: v.kty,
                  key_ops: v.keyOps, ...v.jwk},
            attributes};
  };

  const server = https.createServer({key, cert}, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const rec = {method: req.method, path: req.url};
      vault.requests.push(rec);
      const send = (status, json, headers = {}) => {
        rec.status = status;
        if (json?.error) rec.code = json.error.code +
            (json.error.innererror ? `/${json.error.innererror.code}` : '');
        const text = json === undefined ? '' : JSON.stringify(json);
        res.writeHead(status, {'content-type': 'application/json; charset=utf-8',
                               'content-length': Buffer.byteLength(text),
                               'x-ms-keyvault-service-version': 'fake',
                               ...headers});
        res.end(text);
      };
      const error = (status, code, message, inner) => send(status, {error: {
        code, message, ...(inner ? {innererror: {code: inner}} : {})}});
      try {
        handle(req, body, rec, send, error);
      } catch (e) {
        error(500, 'InternalServerError', String(e?.stack ?? e));
      }
    });
  });

  function challenge() {
    return vault.challengeHeader ??
        `Bearer authorization="${vault.loginOrigin}/${vault.tenantId}", ` +
        `resource="${vault.resource}"`;
  }

  function handle(req, body, rec, send, error) {
    const url = new URL(req.url, `https://${host}`);
    rec.apiVersion = url.searchParams.get('api-version');
    let params = null;
    if (body) {
      try { params = JSON.parse(body); } catch { /* refused below */ }
      rec.alg = params?.alg;
    }
    const segs = url.pathname.split('/').filter(Boolean);
    rec.op = req.method === 'GET' && segs.length === 1 ? 'list' :
        req.method === 'GET' ? 'get' :
        (segs[segs.length - 1] ?? '').toLowerCase();
    if (segs[0] !== 'keys') {
      return error(404, 'NotFound', `No route for ${req.method} ${url.pathname}`);
    }

    // Authentication: a bearer token of the vault's tenant for its resource.
    const auth = req.headers.authorization ?? '';
    rec.authorization = auth;
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m) {
      rec.op = `challenge(${rec.op})`;
      return send(401, {error: {code: 'Unauthorized',
                                message: 'AKV10000: Request is missing a ' +
                                         'Bearer or PoP token.'}},
                  {'www-authenticate': challenge()});
    }
    rec.claims = jwtClaims(m[1]);
    const c = rec.claims;
    if (!c) {
      return send(401, {error: {code: 'Unauthorized',
                                message: 'AKV10001: The token is malformed.'}},
                  {'www-authenticate': challenge()});
    }
    if (String(c.aud).replace(/\/$/, '') !== vault.resource) {
      return send(401, {error: {code: 'Unauthorized',
                                message: `AKV10022: Invalid audience ${c.aud}`}},
                  {'www-authenticate': challenge()});
    }
    if (String(c.tid).toLowerCase() !== String(vault.tenantId).toLowerCase()) {
      return send(401, {error: {code: 'Unauthorized',
                                message: 'AKV10032: Invalid issuer.'}},
                  {'www-authenticate': challenge()});
    }
    if (typeof c.exp === 'number' && c.exp * 1000 < Date.now()) {
      return send(401, {error: {code: 'Unauthorized',
                                message: 'AKV10022: Token expired.'}},
                  {'www-authenticate': challenge()});
    }
    if (!rec.apiVersion) {
      return error(400, 'BadParameter', 'api-version is required');
    }
    if (vault.forbidden) {
      return error(403, 'Forbidden',
                   `Client address is not authorized and caller is not a ` +
                   `trusted service (${vault.forbidden}).`, vault.forbidden);
    }
    if (vault.revoked) {
      return error(403, 'Forbidden',
                   `The user, group or application 'appid=${c.appid};` +
                   `oid=${c.oid}' does not have keys ${rec.op} permission ` +
                   `on key vault '${host}'.`, 'ForbiddenByPolicy');
    }

    if (segs.length === 1 && req.method === 'GET') {
      return send(200, {value: [...vault.keys.values()].map((k) => ({
        kid: `${vault.uri}keys/${k.name}`,
        attributes: bundle(k.name, k.versions.at(-1)).attributes})),
                        nextLink: null});
    }
    const name = segs[1];
    const crypto = req.method === 'POST' &&
        ['wrapkey', 'unwrapkey'].includes(rec.op);
    const version = crypto ? (segs.length === 4 ? segs[2] : '') :
        (segs[2] ?? '');
    rec.name = name;
    rec.version = version;
    if (req.method === 'GET' && segs.length > 3 ||
        req.method === 'POST' && (!crypto || segs.length > 4) ||
        !['GET', 'POST'].includes(req.method)) {
      return error(405, 'BadParameter', `${req.method} ${url.pathname}`);
    }
    const v = vault.version(name, version);
    if (!v) {
      return error(404, 'KeyNotFound',
                   `A key with (name/id) ${name}${version ? `/${version}` : ''}` +
                   ' was not found in this key vault.');
    }
    const k = vault.keys.get(name.toLowerCase());
    if (req.method === 'GET') return send(200, bundle(k.name, v));

    // wrapkey / unwrapkey
    if (!params || typeof params.value !== 'string') {
      return error(400, 'BadParameter', 'value is required');
    }
    const op = rec.op === 'wrapkey' ? 'wrapKey' : 'unwrapKey';
    const now = Date.now() / 1000;
    if (!v.attributes.enabled) {
      return error(403, 'Forbidden', `Operation ${op} is not allowed on a ` +
                   'disabled key.', 'KeyDisabled');
    }
    if (v.attributes.nbf !== undefined && v.attributes.nbf > now) {
      return error(403, 'Forbidden', 'The key is not yet valid.',
                   'KeyNotYetValid');
    }
    if (v.attributes.exp !== undefined && v.attributes.exp <= now) {
      return error(403, 'Forbidden', 'The key has expired.', 'KeyExpired');
    }
    if (!v.keyOps.includes(op)) {
      return error(403, 'Forbidden', `Operation "${op}" is not allowed on ` +
                   'this key.', 'KeyOperationForbidden');
    }
    if (params.alg !== 'RSA-OAEP-256' || !v.kty.startsWith('RSA')) {
      return error(400, 'BadParameter',
                   `Key and algorithm ${params.alg} are not compatible.`);
    }
    const input = Buffer.from(params.value, 'base64url');
    const oaep = {padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256'};
    if (rec.op === 'wrapkey') {
      const out = publicEncrypt({key: v.publicKey, ...oaep}, input);
      rec.wrappedBytes = input.length;
      return send(200, {kid: vault.kid(k.name, v.version), value: b64url(out)});
    }
    let out;
    try {
      out = privateDecrypt({key: v.privateKey, ...oaep}, input);
    } catch {
      return error(400, 'BadParameter', 'The ciphertext could not be ' +
                   'decrypted with this key.');
    }
    rec.unwrappedBytes = out.length;
    return send(200, {kid: vault.kid(k.name, v.version), value: b64url(out)});
  }

  server.on('tlsClientError', (e) => vault.tlsErrors.push(e.message));
  server.on('connection', () => { vault.connections += 1; });
  const listen = (p) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(port);
  vault.port = server.address().port;
  vault.uri = `https://${host}:${vault.port}/`;
  /** Stops listening (the vault is down); its keys are kept. */
  vault.close = () => new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
  /** Listens again on the same port, with the same keys. */
  vault.reopen = () => listen(vault.port);
  return vault;
}
