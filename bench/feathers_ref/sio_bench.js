// socket.io round-trip load for bench/bench_core.py: `get` calls in the Feathers socket protocol.
// Usage: node sio_bench.js <url> <ids.json> <calls> <in-flight> [service path, default items]; prints {calls, seconds, rate, p50_ms}.
'use strict';

const fs = require('fs');
const io = require('socket.io-client');

const [url, idsFile, callsArg, inflightArg, pathArg] = process.argv.slice(2);
const path = pathArg || 'items';
const ids = JSON.parse(fs.readFileSync(idsFile, 'utf8'));
const calls = Number(callsArg);
const inflight = Number(inflightArg);

function call(socket) {
  const id = ids[Math.floor(Math.random() * ids.length)];
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    socket.emit('get', path, id, {}, (err, result) => {
      if (err || !result) return reject(new Error(JSON.stringify(err)));
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
  });
}

async function main() {
  const socket = io(url, { transports: ['websocket'] });
  await new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); });
  for (let i = 0; i < 200; i++) await call(socket); // warm-up
  const latencies = [];
  let started = 0;
  const t0 = process.hrtime.bigint();
  async function lane() {
    while (started < calls) {
      started++;
      latencies.push(await call(socket));
    }
  }
  await Promise.all(Array.from({ length: inflight }, lane));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  socket.close();
  console.log(JSON.stringify({ calls, seconds, rate: calls / seconds, p50_ms: latencies[Math.floor(latencies.length / 2)] }));
}

main().catch((err) => { console.error(err); process.exit(1); });
