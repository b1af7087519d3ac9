// Preloaded into every test process: resolves *.localhost (login.localhost,
// management.localhost, <vault>.vault.localhost, ...) to the loopback
// address, as a browser does, without touching /etc/hosts. Debian's
// resolver sends such names to DNS, which knows nothing of them.
'use strict';
const dns = require('node:dns');

const original = dns.lookup;
function isLocalhost(host) {
  return typeof host === 'string' &&
      (host === 'localhost' || host.endsWith('.localhost'));
}
dns.lookup = function lookup(hostname, options, callback) {
  if (!isLocalhost(hostname)) return original.apply(this, arguments);
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  if (typeof options === 'number') options = {family: options};
  const family = options && options.family === 6 ? 6 : 4;
  const address = family === 6 ? '::1' : '127.0.0.1';
  if (options && options.all) {
    process.nextTick(callback, null, [{address, family}]);
  } else {
    process.nextTick(callback, null, address, family);
  }
};
