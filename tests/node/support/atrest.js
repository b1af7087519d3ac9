// Starts and stops real atrest servers for the client tests.
//
// Every server gets a fresh data dir under ATREST_TEST_ROOT, with a copy of
// the shared TLS material (ATREST_TEST_TLS_DIR, made once by
// `atrest tls-init` in scripts/test-node.sh), so the one CA in
// NODE_EXTRA_CA_CERTS is trusted by every server. Ports are chosen free.
import {execFileSync, spawn} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const atrestBin = process.env.ATREST_BIN ??
    path.resolve(here, '../../../build/release/src/app/atrest');

/** Runs `atrest <args>` to completion; returns stdout (throws on failure). */
export function atrest(args) {
  return execFileSync(atrestBin, args, {encoding: 'utf8'});
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

// `dataDir`: share another server's data dir (same store and keys) instead
// of a fresh one. `wrapper`: a command line to run atrest under; it must
// exec atrest (not fork it), so that stop() signals the server itself.
// `port`: listen there rather than on a free port (a restart on the same
// data dir keeps its URLs, such as the key vault URIs accounts refer to).
export async function startServer(
    {extraArgs = [], env = {}, dataDir = null, wrapper = [],
     port: fixedPort = null} = {}) {
  const root = process.env.ATREST_TEST_ROOT ?? tmpdir();
  const tlsDir = process.env.ATREST_TEST_TLS_DIR;
  if (!tlsDir) throw new Error('ATREST_TEST_TLS_DIR is not set');
  if (!dataDir) {
    dataDir = mkdtempSync(path.join(root, 'atrest-'));
    cpSync(tlsDir, path.join(dataDir, 'tls'), {recursive: true});
  }
  const port = fixedPort ?? await freePort();
  const args = ['serve', '--server-port', String(port), '--server-data-dir',
                dataDir, '--server-access-log',
                path.join(dataDir, `access-${port}.log`), ...extraArgs];
  const argv = [...wrapper, atrestBin, ...args];
  const child = spawn(argv[0], argv.slice(1), {
    env: {...process.env, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
        () => reject(new Error(`atrest did not start:\n${output}`)), 30000);
    const check = () => {
      if (output.includes('administrator credentials:')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`atrest exited with ${code}:\n${output}`));
    });
  });
  const creds = JSON.parse(
      readFileSync(path.join(dataDir, 'admin-credentials.json'), 'utf8'));
  const origin = (name) =>
      `https://${name ? name + '.' : ''}localhost:${port}`;
  return {
    port,
    dataDir,
    creds,
    origin,
    output: () => output,
    // The bearer token /metrics wants (made at the first start).
    metricsToken: () =>
        readFileSync(path.join(dataDir, 'metrics-token'), 'utf8').trim(),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    },
  };
}
