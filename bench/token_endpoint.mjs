#!/usr/bin/env node
// Workload driver: the token endpoint under attack (docs/benchmarks.md).
//
// Starts atrest on a scratch data dir and measures the latency of a
// legitimate client's client-credentials requests (the administrator's
// service principal, right secret, one keep-alive connection from
// 127.0.0.1), first idle and then while ATTACKERS clients send wrong
// secrets for the same client id as fast as they are answered, each from an
// address of its own (127.0.0.2, 127.0.0.3, ...) on its own keep-alive
// connection, ignoring Retry-After; the attackers run in a worker thread,
// so that their callbacks do not delay the legitimate client's in the
// driver's own event loop. Phases alternate for REPETITIONS
// rounds; each round also times the first request of a newly made service
// principal (its secret not yet verified: one PBKDF2), idle and under
// attack. Prints one line per phase and a Markdown summary of medians.
//
//   node bench/token_endpoint.mjs [--atrest PATH] [--attackers 32]
//       [--requests 300] [--repetitions 5]
//
// Only node's standard library; no npm packages.
import {execFileSync, spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {Worker, isMainThread, parentPort, workerData} from 'node:worker_threads';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const ATREST = path.resolve(opt('atrest', 'build/release/src/app/atrest'));
const ATTACKERS = Number(opt('attackers', 32));
const REQUESTS = Number(opt('requests', 300));
const REPETITIONS = Number(opt('repetitions', 5));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);

/** A client on one keep-alive connection from `from`. */
function client(from, {ca, port, tenantId}) {
  const agent = new https.Agent({keepAlive: true, maxSockets: 1, ca,
                                 localAddress: from});
  return (clientId, secret) => new Promise((resolve, reject) => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials', client_id: clientId,
      client_secret: secret,
      scope: `https://management.localhost:${port}/.default`}).toString();
    const req = https.request({
      host: '127.0.0.1', port, servername: 'login.localhost', agent,
      method: 'POST', path: `/${tenantId}/oauth2/v2.0/token`,
      headers: {'host': `login.localhost:${port}`,
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(body)},
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}


// The attackers' thread: N closed loops of wrong secrets until told to stop;
// posts the count of answers by status.
if (!isMainThread) {
  const {attackers, server, clientId} = workerData;
  const clients = Array.from({length: attackers},
                             (_, i) => client(`127.0.0.${i + 2}`, server));
  let stop = false;
  const counts = {};
  parentPort.on('message', () => { stop = true; });
  const t0 = performance.now();
  await Promise.all(clients.map(async (c) => {
    while (!stop) {
      const status = await c(clientId, 'not-the-secret');
      counts[status] = (counts[status] ?? 0) + 1;
    }
  }));
  parentPort.postMessage({counts,
                          seconds: (performance.now() - t0) / 1000});
  process.exit(0);
}

const data = mkdtempSync(path.join(os.tmpdir(), 'atrest-token-bench-'));
const port = await freePort();
const server = spawn(ATREST, ['serve', '--server-port', String(port),
                              '--server-data-dir', data,
                              '--server-access-log', ''],
                     {stdio: ['ignore', 'pipe', 'pipe']});
let serverOutput = '';
server.stdout.on('data', (d) => { serverOutput += d; });
server.stderr.on('data', (d) => { serverOutput += d; });
process.on('exit', () => {
  server.kill('SIGTERM');
  rmSync(data, {recursive: true, force: true});
});
for (let i = 0; !serverOutput.includes('administrator credentials:'); ++i) {
  if (i > 600 || server.exitCode !== null) {
    throw new Error(`atrest did not start:\n${serverOutput}`);
  }
  await sleep(50);
}
const creds = JSON.parse(readFileSync(path.join(data, 'admin-credentials.json'),
                                      'utf8'));
const target = {ca: readFileSync(path.join(data, 'tls', 'ca.crt')), port,
                tenantId: creds.tenantId};

const legit = client('127.0.0.1', target);
async function timedRequests(n) {
  const ms = [];
  for (let i = 0; i < n; ++i) {
    const t0 = performance.now();
    const status = await legit(creds.clientId, creds.clientSecret);
    ms.push(performance.now() - t0);
    if (status !== 200) throw new Error(`legitimate request got ${status}`);
  }
  return ms.sort((a, b) => a - b);
}

/** The first request of a new service principal from a clean address,
 *  retried after Retry-After if throttled: milliseconds until its token. */
let fresh = 0;
async function firstRequest() {
  const sp = JSON.parse(execFileSync(ATREST, [
    'ad', '--data-dir', data, 'sp', 'create-for-rbac', '--name',
    `bench-${fresh}`], {encoding: 'utf8'}));
  const from = `127.0.1.${(fresh++ % 250) + 1}`;
  const c = client(from, target);
  const t0 = performance.now();
  for (;;) {
    const status = await c(sp.appId, sp.password);
    if (status === 200) return performance.now() - t0;
    if (status !== 429) throw new Error(`new client got ${status}`);
    await sleep(1000);
  }
}

async function underAttack(work) {
  const worker = new Worker(new URL(import.meta.url), {workerData: {
    attackers: ATTACKERS, server: target, clientId: creds.clientId}});
  const counted = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await sleep(300);  // Let the attack reach its steady state.
  const result = await work();
  worker.postMessage('stop');
  const {counts, seconds} = await counted;
  return {result, counts, seconds};
}

await timedRequests(20);  // Warm up: the secret is verified once.
const rows = [];
for (let rep = 0; rep < REPETITIONS; ++rep) {
  const idle = await timedRequests(REQUESTS);
  const idleLoad = os.loadavg()[0];
  const idleFirst = await firstRequest();
  const attack = await underAttack(async () => ({
    ms: await timedRequests(REQUESTS), first: await firstRequest()}));
  const attackLoad = os.loadavg()[0];
  const attempts = Object.values(attack.counts).reduce((a, b) => a + b, 0);
  const row = {
    rep: rep + 1,
    idle_p50: quantile(idle, 0.5), idle_p99: quantile(idle, 0.99),
    attack_p50: quantile(attack.result.ms, 0.5),
    attack_p99: quantile(attack.result.ms, 0.99),
    idle_first: idleFirst, attack_first: attack.result.first,
    attacker_rps: attempts / attack.seconds,
    attacker_status: attack.counts,
    load_idle: idleLoad, load_attack: attackLoad,
  };
  rows.push(row);
  console.log(JSON.stringify(row, (k, v) =>
    typeof v === 'number' ? Math.round(v * 100) / 100 : v));
}

const m = (k) => median(rows.map((r) => r[k]));
const f = (x) => x.toFixed(1);
console.log(`
| ${REPETITIONS} repetitions, ${REQUESTS} requests each, ${ATTACKERS} attackers | median |
| --- | --- |
| legitimate p50 idle (ms) | ${f(m('idle_p50'))} |
| legitimate p99 idle (ms) | ${f(m('idle_p99'))} |
| legitimate p50 under attack (ms) | ${f(m('attack_p50'))} |
| legitimate p99 under attack (ms) | ${f(m('attack_p99'))} |
| p50 under attack / p50 idle | ${(m('attack_p50') / m('idle_p50')).toFixed(2)} |
| first request of a new client, idle (ms) | ${f(m('idle_first'))} |
| first request of a new client, under attack (ms) | ${f(m('attack_first'))} |
| attacker requests answered per second | ${f(m('attacker_rps'))} |
| load average (1 min) idle / under attack | ${f(m('load_idle'))} / ${f(m('load_attack'))} |
`);
process.exit(0);
