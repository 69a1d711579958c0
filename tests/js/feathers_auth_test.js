// The official @feathersjs/authentication-client against a Plume server with authentication on,
// over REST and over socket.io. Prints a JSON report that tests/auth/test_feathers_auth_js.py checks.
//
// Usage: node feathers_auth_test.js <server-url> <email> <password> <api-key> <other-email> <other-password>
'use strict';

const { feathers } = require('@feathersjs/feathers');
const rest = require('@feathersjs/rest-client');
const socketio = require('@feathersjs/socketio-client');
const authentication = require('@feathersjs/authentication-client');
const errors = require('@feathersjs/errors');
const io = require('socket.io-client');
const { waitFor } = require('./wait_for');

const [url, email, password, apiKey, otherEmail, otherPassword] = process.argv.slice(2);

function describeError(err) {
  const cls = errors[err && err.name];
  return { name: err && err.name, code: err && err.code, message: err && err.message,
    rebuiltClass: Boolean(cls && err instanceof cls) };
}

async function attempt(fn) {
  try {
    return { ok: true, result: await fn() };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

function client(kind) {
  const app = feathers();
  let socket = null;
  if (kind === 'rest') {
    app.configure(rest(url).fetch(fetch));
  } else {
    socket = io(url, { transports: ['websocket'], forceNew: true });
    app.configure(socketio(socket, { timeout: 10000 }));
  }
  app.configure(authentication({ storage: new authentication.MemoryStorage() }));
  return { app, socket };
}

async function exercise(kind) {
  const { app, socket } = client(kind);
  const out = {};
  out.anonymousFind = await attempt(() => app.service('notes').find());
  out.badLogin = await attempt(() => app.authenticate({ strategy: 'local', email, password: 'wrong password' }));
  const login = await app.authenticate({ strategy: 'local', email, password });
  out.login = { strategy: login.authentication.strategy, userId: login.user._id, hasToken: Boolean(login.accessToken),
    userKeys: Object.keys(login.user).sort() };
  out.created = await app.service('notes').create({ via: kind });
  out.found = await app.service('notes').find({ query: { via: kind } });
  const again = await app.reAuthenticate(true);
  out.reAuthenticated = { strategy: again.authentication.strategy, userId: again.user._id };
  out.stillWorks = await attempt(() => app.service('notes').get(out.created._id));
  await app.logout();
  out.afterLogout = await attempt(() => app.service('notes').find());
  const viaKey = await app.authenticate({ strategy: 'api-key', apiKey });
  out.apiKey = { strategy: viaKey.authentication.strategy, userId: viaKey.user._id };
  out.keyCreate = await attempt(() => app.service('notes').create({ via: `${kind}-key` }));
  await app.logout();
  if (socket) socket.close();
  return out;
}

async function events() {
  // One listener per user: each hears its own private notes, not the other's. A public note made
  // last marks the end: events arrive in order, so a stray private one would be heard before it.
  const mine = client('socket');
  const theirs = client('socket');
  await mine.app.authenticate({ strategy: 'local', email, password });
  await theirs.app.authenticate({ strategy: 'local', email: otherEmail, password: otherPassword });
  const heard = { mine: [], theirs: [] };
  mine.app.service('notes').on('created', (n) => heard.mine.push(n.tag));
  theirs.app.service('notes').on('created', (n) => heard.theirs.push(n.tag));
  await mine.app.service('notes').create({ tag: 'mine-private' });
  await theirs.app.service('notes').create({ tag: 'theirs-private' });
  await theirs.app.service('notes').create({ tag: 'theirs-public', public: true });
  await mine.app.service('notes').create({ tag: 'end', public: true });
  await waitFor(() => heard.mine.includes('end') && heard.theirs.includes('end'), 10000);
  mine.socket.close();
  theirs.socket.close();
  return heard;
}

async function main() {
  const report = { rest: await exercise('rest'), socket: await exercise('socket'), events: await events() };
  process.stdout.write(JSON.stringify(report));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
