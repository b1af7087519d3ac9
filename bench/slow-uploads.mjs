// Control-plane and key vault latency of one atrest server, idle and while
// many slow uploads trickle in: the workload of the "slow uploads freeze
// every tenant" finding (docs/benchmarks.md has the figures and the
// command). Node.js built-ins only.
//
//   node bench/slow-uploads.mjs [--bin build/release/src/app/atrest]
//       [--uploads 200] [--requests 300] [--reps 5] [--timeout-ms 5000]
//       [--settle-ms 3000] [--old-binary]
//
// It starts the server on a fresh data dir (its own CA), makes a resource
// group, a key vault with an RSA key and an AI account through the REST
// APIs, then per repetition measures, one request at a time over kept-alive
// connections, `requests` ARM GETs of the vault resource and `requests`
// Key Vault GETs of the key: first idle, then with `uploads` uploads from
// one API key, each declaring 100 MiB and sending 1 KiB every 2 s. The
// server runs with upload quotas and the minimum upload rate out of the
// way (--old-binary: without those flags, for builds that predate them),
// so every upload stays in flight. A request with no answer within
// --timeout-ms counts as a timeout (after three in a row, the rest of the
// phase is counted as timeouts without waiting). Prints a Markdown table: p50/p99 per
// repetition and phase, their medians, the load average before and after.
import {execFileSync, spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import tls from 'node:tls';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const BIN = path.resolve(opt('bin', 'build/release/src/app/atrest'));
const UPLOADS = Number(opt('uploads', 200));
const REQUESTS = Number(opt('requests', 300));
const REPS = Number(opt('reps', 5));
const TIMEOUT_MS = Number(opt('timeout-ms', 5000));
const SETTLE_MS = Number(opt('settle-ms', 3000));
const OLD_BINARY = args.includes('--old-binary');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'atrest-bench-'));
const caPath = execFileSync(BIN, ['tls-init', '--data-dir', dir, '--domain',
                                  'localhost'], {encoding: 'utf8'}).trim();
const ca = readFileSync(caPath);
const port = await freePort();
const serverArgs = ['serve', '--server-port', String(port),
                    '--server-data-dir', dir, '--server-access-log', ''];
if (!OLD_BINARY) {
  serverArgs.push('--limits-max-uploads-per-principal', '100000',
                  '--limits-max-uploads-per-account', '100000',
                  '--limits-min-upload-rate', '0');
}
const server = spawn(BIN, serverArgs, {stdio: ['ignore', 'pipe', 'pipe']});
let output = '';
server.stdout.on('data', (d) => { output += d; });
server.stderr.on('data', (d) => { output += d; });
const cleanup = () => {
  server.kill('SIGKILL');
  rmSync(dir, {recursive: true, force: true});
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(1));
}
for (let i = 0; !output.includes('administrator credentials:'); ++i) {
  if (i > 300 || server.exitCode !== null) {
    throw new Error(`atrest did not start:\n${output}`);
  }
  await sleep(100);
}
const creds = JSON.parse(readFileSync(path.join(dir, 'admin-credentials.json'),
                                      'utf8'));
const origin = (name) => `https://${name}.localhost:${port}`;

// *.localhost names go to 127.0.0.1; one kept-alive connection per host.
const agent = new https.Agent({
  ca, keepAlive: true, maxSockets: 1,
  lookup: (host, o, cb) => (o && o.all ?
      cb(null, [{address: '127.0.0.1', family: 4}]) :
      cb(null, '127.0.0.1', 4)),
});

function call(url, {method = 'GET', headers = {}, body} = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {method, headers, agent}, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        resolve({status: res.statusCode, text,
                 json: () => JSON.parse(text)});
      });
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function token(scope) {
  const res = await call(
      `${origin('login')}/${creds.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded'},
        body: new URLSearchParams({
          grant_type: 'client_credentials', client_id: creds.clientId,
          client_secret: creds.clientSecret, scope}).toString()});
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
  return res.json().access_token;
}

const armToken = await token(`${origin('management')}/.default`);
const vaultToken = await token(`https://vault.localhost:${port}/.default`);
const arm = (p, o = {}) => call(`${origin('management')}${p}`, {
  ...o, headers: {authorization: `Bearer ${armToken}`,
                  'content-type': 'application/json'}});
const group = `/subscriptions/${creds.subscriptionId}/resourceGroups/bench`;
const vaultPath = `${group}/providers/Microsoft.KeyVault/vaults/benchvault`;
const accountPath =
    `${group}/providers/Microsoft.CognitiveServices/accounts/benchacct`;
const must = (res, what) => {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res;
};
must(await arm(`${group}?api-version=2022-09-01`, {
  method: 'PUT', body: JSON.stringify({location: 'westeurope'})}), 'group');
must(await arm(`${vaultPath}?api-version=2023-07-01`, {
  method: 'PUT', body: JSON.stringify({location: 'westeurope', properties: {
    tenantId: creds.tenantId, sku: {family: 'A', name: 'standard'},
    accessPolicies: [{tenantId: creds.tenantId, objectId: creds.objectId,
                      permissions: {keys: ['all']}}]}})}), 'vault');
must(await arm(`${accountPath}?api-version=2024-10-01`, {
  method: 'PUT', body: JSON.stringify({location: 'westeurope', kind: 'OpenAI',
                                       sku: {name: 'S0'}})}), 'account');
for (let i = 0; ; ++i) {
  const a = must(await arm(`${accountPath}?api-version=2024-10-01`), 'account');
  if (a.json().properties?.provisioningState === 'Succeeded') break;
  if (i > 100) throw new Error('account not provisioned');
  await sleep(100);
}
const apiKey = must(await arm(`${accountPath}/listKeys?api-version=2024-10-01`,
                              {method: 'POST'}), 'keys').json().key1;
const vault = (p, o = {}) => call(
    `${origin('benchvault.vault')}${p}`, {
      ...o, headers: {authorization: `Bearer ${vaultToken}`,
                      'content-type': 'application/json'}});
must(await vault('/keys/k/create?api-version=7.4', {
  method: 'POST', body: JSON.stringify({kty: 'RSA', key_size: 2048})}), 'key');

// One timed request; Infinity when it failed or timed out.
async function timed(fn) {
  const t0 = performance.now();
  try {
    const res = await fn();
    return res.status === 200 ? performance.now() - t0 : Infinity;
  } catch {
    return Infinity;
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1,
                         Math.floor(p / 100 * sorted.length))];
}

// A server that stops answering would take REQUESTS * timeout: after
// three timeouts in a row the phase gives up and counts the rest as
// timeouts too.
async function measure() {
  const armMs = [], vaultMs = [];
  let inARow = 0;
  for (let i = 0; i < REQUESTS; ++i) {
    if (inARow >= 3) {
      armMs.push(Infinity);
      vaultMs.push(Infinity);
      continue;
    }
    armMs.push(await timed(() => arm(`${vaultPath}?api-version=2023-07-01`)));
    vaultMs.push(await timed(() => vault('/keys/k?api-version=7.4')));
    inARow = armMs.at(-1) === Infinity || vaultMs.at(-1) === Infinity ?
        inARow + 1 : 0;
  }
  const stats = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return {p50: percentile(s, 50), p99: percentile(s, 99),
            timeouts: v.filter((x) => x === Infinity).length};
  };
  return {arm: stats(armMs), vault: stats(vaultMs)};
}

// `UPLOADS` uploads from one API key, each declaring 100 MiB and sending
// 1 KiB every 2 s (staggered), until stopped.
async function startUploads() {
  const head =
      `POST /openai/files?api-version=2024-10-21 HTTP/1.1\r\n` +
      `Host: benchacct.openai.localhost:${port}\r\napi-key: ${apiKey}\r\n` +
      'Content-Type: multipart/form-data; boundary=B\r\n' +
      `Content-Length: ${100 * 1024 * 1024}\r\n\r\n` +
      '--B\r\ncontent-disposition: form-data; name="purpose"\r\n\r\n' +
      'assistants\r\n--B\r\ncontent-disposition: form-data; name="file"; ' +
      'filename="slow.bin"\r\n\r\n';
  const sockets = await Promise.all(Array.from({length: UPLOADS}, () =>
    new Promise((resolve, reject) => {
      const s = tls.connect({host: '127.0.0.1', port, ca,
                             servername: 'benchacct.openai.localhost'},
                            () => { s.write(head); resolve(s); });
      s.on('error', () => {});
      s.once('error', reject);
    })));
  const piece = Buffer.alloc(1024, 's');
  let next = 0;
  const timer = setInterval(() => {
    // 2 s for all of them: a few at each 20 ms tick.
    const per = Math.ceil(sockets.length / 100);
    for (let i = 0; i < per; ++i) {
      const s = sockets[next++ % sockets.length];
      if (!s.destroyed) s.write(piece);
    }
  }, 20);
  return {
    open: () => sockets.filter((s) => !s.destroyed).length,
    stop() {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

const fmt = (ms) => (ms === Infinity ? 'timeout' : ms.toFixed(2));
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const loadBefore = os.loadavg().map((x) => x.toFixed(2)).join(' ');
await measure();  // Warm-up: connections, caches.
const rows = [];
for (let rep = 1; rep <= REPS; ++rep) {
  const idle = await measure();
  const uploads = await startUploads();
  await sleep(SETTLE_MS);
  const load = await measure();
  const stillOpen = uploads.open();
  uploads.stop();
  rows.push({rep, idle, load, stillOpen});
  await sleep(1000);  // Let the server see the uploads go.
}
const loadAfter = os.loadavg().map((x) => x.toFixed(2)).join(' ');

console.log(`atrest ${BIN}; ${UPLOADS} slow uploads; ${REQUESTS} requests ` +
            `of each kind per phase; ${os.cpus().length} cores; ` +
            `load average before ${loadBefore}, after ${loadAfter}`);
console.log('');
console.log('| rep | ARM GET p50 idle | p50 uploads | p99 idle | ' +
            'p99 uploads | vault GET p50 idle | p50 uploads | p99 idle | ' +
            'p99 uploads | timeouts under load | uploads still open |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ' +
            '---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.rep} | ${fmt(r.idle.arm.p50)} | ${fmt(r.load.arm.p50)} | ` +
              `${fmt(r.idle.arm.p99)} | ${fmt(r.load.arm.p99)} | ` +
              `${fmt(r.idle.vault.p50)} | ${fmt(r.load.vault.p50)} | ` +
              `${fmt(r.idle.vault.p99)} | ${fmt(r.load.vault.p99)} | ` +
              `${r.load.arm.timeouts + r.load.vault.timeouts} | ` +
              `${r.stillOpen} |`);
}
const m = (f) => fmt(median(rows.map(f)));
console.log(`| **median** | ${m((r) => r.idle.arm.p50)} | ` +
            `${m((r) => r.load.arm.p50)} | ${m((r) => r.idle.arm.p99)} | ` +
            `${m((r) => r.load.arm.p99)} | ${m((r) => r.idle.vault.p50)} | ` +
            `${m((r) => r.load.vault.p50)} | ${m((r) => r.idle.vault.p99)} | ` +
            `${m((r) => r.load.vault.p99)} | | |`);
const ratio = (a, b) => (b === Infinity ? 'inf' : (b / a).toFixed(2));
console.log('');
console.log(`p99 under load / idle (medians): ARM ${ratio(
    median(rows.map((r) => r.idle.arm.p99)),
    median(rows.map((r) => r.load.arm.p99)))}, vault ${ratio(
    median(rows.map((r) => r.idle.vault.p99)),
    median(rows.map((r) => r.load.vault.p99)))}`);
process.exit(0);
