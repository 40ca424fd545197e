// Loaded with `node --require` before particle-cli by `particle_cli.rs`: the CLI may reach this
// machine only. Every connection to another host, and every DNS lookup of a name that is not
// `localhost`, fails before a packet leaves, and is named on stderr with BLOCKED so the test
// fails on any attempt (an update check, telemetry, the real cloud).
'use strict';

const dns = require('dns');
const net = require('net');

function isLoopback(host) {
  return host === undefined || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function refuse(what) {
  process.stderr.write(`BLOCKED ${what}: particle-cli may reach only this machine\n`);
  const error = new Error(`${what} is blocked by the test`);
  error.code = 'ECONNREFUSED';
  return error;
}

const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  if (isLoopback(hostname)) {
    return lookup.call(this, hostname, ...rest);
  }
  const callback = rest[rest.length - 1];
  process.nextTick(callback, refuse(`DNS lookup of ${hostname}`));
  return {};
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // `net.connect` passes its arguments already normalized, as an array; other callers pass
  // (options), (port, host) or (path).
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : { host: args[1] };
  if (options.path === undefined && !isLoopback(options.host)) {
    const error = refuse(`connection to ${options.host}:${options.port}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};
