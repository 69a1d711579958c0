// Reference Feathers v5 server for bench/bench_core.py: koa REST + socket.io over an in-memory
// service, configured like Plume's default service (pagination, events to every connection).
// Usage: node server.js <port>
'use strict';

const { feathers } = require('@feathersjs/feathers');
const { koa, rest, bodyParser, errorHandler } = require('@feathersjs/koa');
const socketio = require('@feathersjs/socketio');
const { MemoryService } = require('@feathersjs/memory');

const port = Number(process.argv[2] || 3031);
const app = koa(feathers());
app.use(errorHandler());
app.use(bodyParser());
app.configure(rest());
app.configure(socketio());
app.use('items', new MemoryService({ paginate: { default: 100, max: 1000 }, multi: true }));
app.on('connection', (connection) => app.channel('everybody').join(connection));
app.publish(() => app.channel('everybody'));

app.listen(port).then(() => console.log(`feathers listening on ${port}`));
