#!/usr/bin/env node
// Load a TF.js layers model from a directory (model.json + weight shards) with the pure-JS CPU
// backend and print its predictions as JSON. Used by Plume's Python tests to check that converted
// models really load and compute the same numbers in TF.js 4.22 (tfjs-node cannot install here).
//
// Usage: node tfjs_predict.js <model_dir>   < {"inputs": [{"shape": [...], "data": [...]}, ...]}
// Prints: {"outputs": [{"shape": [...], "data": [...]}, ...], "inputNames": [...], "backend": "cpu"}
// On failure prints {"error": "..."} to stdout and exits with code 1.
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');

// An IOHandler that reads model.json and its shards from disk, as a browser would fetch them.
function fileHandler(dir) {
  return {
    load: async () => {
      const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const weightSpecs = [];
      const buffers = [];
      for (const group of modelJson.weightsManifest || []) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(dir, shard)));
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs,
        weightData,
      };
    },
  };
}

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node tfjs_predict.js <model_dir> < inputs.json');
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  await tf.setBackend('cpu');
  await tf.ready();
  const model = await tfl.loadLayersModel(fileHandler(dir));
  const inputs = request.inputs.map((x) => tf.tensor(x.data, x.shape, 'float32'));
  let outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
  if (!Array.isArray(outputs)) outputs = [outputs];
  const result = {
    outputs: outputs.map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) })),
    inputNames: model.inputNames,
    backend: tf.getBackend(),
  };
  // TF.js may print banners on stdout: the answer is always the last line.
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stdout.write(`\n${JSON.stringify({ error: String(err && err.message ? err.message : err) })}\n`);
  process.exit(1);
});
