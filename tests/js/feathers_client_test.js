// Drives a Plume server with the official Feathers v5 clients (REST over Node's fetch, and
// socket.io-client 4) and prints a JSON report that tests/transports/test_feathers_js.py checks.
//
// Usage: node feathers_client_test.js <server-url> [multi-service] [plain-service]
// The multi service must allow multi create/patch/remove; the plain one must not.
'use strict';

const { feathers } = require('@feathersjs/feathers');
const rest = require('@feathersjs/rest-client');
const socketio = require('@feathersjs/socketio-client');
const errors = require('@feathersjs/errors');
const io = require('socket.io-client');
const { waitFor } = require('./wait_for');

const url = process.argv[2];
const MULTI = process.argv[3] || 'items';
const PLAIN = process.argv[4] || 'plain';
if (!url) {
  console.error('usage: node feathers_client_test.js <server-url> [multi-service] [plain-service]');
  process.exit(2);
}

/** How an error looks once the client rebuilt it (class checked here, fields for Python). */
function describeError(err) {
  const cls = errors[err && err.name];
  return {
    name: err && err.name,
    code: err && err.code,
    className: err && err.className,
    message: err && err.message,
    isFeathersError: err instanceof errors.FeathersError,
    rebuiltClass: Boolean(cls && err instanceof cls)
  };
}

/** Runs ``fn`` and returns {ok, result} or {ok: false, error}. */
async function attempt(fn) {
  try {
    return { ok: true, result: await fn() };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

/** Every method and error case over one client app (tag keeps the two transports' data apart). */
async function exercise(app, tag) {
  const items = app.service(MULTI);
  const out = {};
  out.create = await items.create({ name: `a-${tag}`, n: 1, tag });
  out.createMulti = await items.create([
    { name: `b-${tag}`, n: 2, tag },
    { name: `c-${tag}`, n: 3, tag }
  ]);
  out.findFiltered = await items.find({
    query: { tag, n: { $gt: 1 }, $sort: { n: -1 }, $limit: 1, $select: ['name'] }
  });
  out.findIn = await items.find({ query: { tag, name: { $in: [`a-${tag}`, `c-${tag}`] }, $sort: { n: 1 } } });
  out.findOr = await items.find({ query: { $or: [{ name: `a-${tag}` }, { name: `b-${tag}` }], $sort: { name: 1 } } });
  out.findAll = await items.find({ query: { tag, $sort: { n: 1 } } });
  out.get = await items.get(out.create._id);
  out.getSelect = await items.get(out.create._id, { query: { $select: ['n'] } });
  out.update = await items.update(out.create._id, { name: `a2-${tag}`, n: 10, tag });
  out.patch = await items.patch(out.createMulti[0]._id, { extra: true });
  out.patchMulti = await items.patch(null, { flag: tag }, { query: { tag, $sort: { n: 1 } } });

  out.errors = {
    patchIdQuery: await attempt(() => items.patch(out.create._id, { x: 1 }, { query: { tag: 'nope' } })),
    removeIdQuery: await attempt(() => items.remove(out.create._id, { query: { tag: 'nope' } })),
    getIdQuery: await attempt(() => items.get(out.create._id, { query: { tag: 'nope' } })),
    getMissing: await attempt(() => items.get('0123456789abcdef01234567')),
    unknownOperator: await attempt(() => items.find({ query: { name: { $where: '1' } } })),
    unknownFilter: await attempt(() => items.find({ query: { $where: 'this.n > 0' } })),
    updateNoId: await attempt(() => items.update(null, { name: 'x' })),
    plainCreateMulti: await attempt(() => app.service(PLAIN).create([{ a: 1 }, { a: 2 }])),
    plainPatchMulti: await attempt(() => app.service(PLAIN).patch(null, { a: 3 })),
    plainRemoveMulti: await attempt(() => app.service(PLAIN).remove(null))
  };

  out.remove = await items.remove(out.create._id);
  out.removeMulti = await items.remove(null, { query: { tag } });
  out.findAfter = await items.find({ query: { tag } });
  return out;
}

async function main() {
  const socket = io(url, { transports: ['websocket'], forceNew: true });
  const socketApp = feathers().configure(socketio(socket, { timeout: 10000 }));
  const restApp = feathers().configure(rest(url).fetch(fetch));

  const events = [];
  for (const name of ['created', 'updated', 'patched', 'removed']) {
    socketApp.service(MULTI).on(name, (data) => events.push({ event: name, data }));
  }
  await new Promise((resolve, reject) => {
    socket.on('connect', resolve);
    socket.on('connect_error', reject);
  });

  const report = { rest: await exercise(restApp, 'rest') };
  report.socket = await exercise(socketApp, 'socket');
  // Expected events: 3 created, 1 updated, 4 patched, 3 removed per transport.
  await waitFor(() => events.length >= 22, 10000);
  // A duplicate arriving late would come before the event of one more, permitted write: wait for
  // that one, then every event that came before it is in the report.
  const sentinel = await restApp.service(MULTI).create({ sentinel: true });
  await waitFor(() => events.some((e) => e.data && e.data._id === sentinel._id), 10000);
  report.events = events.filter((e) => !(e.data && e.data._id === sentinel._id));
  report.sentinelSeen = events.length - report.events.length;
  socket.close();

  // The client's default transports: long-polling first, then the upgrade to a websocket.
  const upgrading = io(url, { forceNew: true });
  const upgradingApp = feathers().configure(socketio(upgrading, { timeout: 10000 }));
  const upgraded = new Promise((resolve) => upgrading.io.on('open', () => upgrading.io.engine.on('upgrade', resolve)));
  await Promise.race([upgraded, new Promise((resolve) => setTimeout(resolve, 10000))]); // fails below if never
  report.upgrade = {
    transport: upgrading.io.engine.transport.name,
    found: (await upgradingApp.service(MULTI).find({ query: { $limit: 1 } })).limit,
  };
  upgrading.close();
  process.stdout.write(JSON.stringify(report));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.stdout.write(JSON.stringify({ fatal: describeError(err), stack: String(err && err.stack) }));
  process.exit(1);
});
