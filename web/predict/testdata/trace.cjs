// Runs an input trace through the WebAssembly predictor under Node, through
// the same global API the page uses (skirmishPredict), and prints the
// positions as float32 bit patterns. Used by predict_test.go:
//
//   node trace.cjs <wasm_exec.js> <predict.wasm> <trace.json>
//
// trace.json: {mode, speed, tickRate, worldW, worldH, starts: [[x, y], …],
// moves: [[mx, my], …], entities: [[kind, [fields…]], …]}. Output (one JSON
// line): {version, steps: [[xbits, ybits], …] after each move from each
// start in turn, replay: [[xbits, ybits], …] of replay() over every move at
// once from each start, canMove: [bool…] for each entity}.
"use strict";

const [wasmExec, wasmFile, traceFile] = process.argv.slice(2);
if (!traceFile) {
  console.error("usage: node trace.cjs <wasm_exec.js> <predict.wasm> <trace.json>");
  process.exit(2);
}
// What wasm_exec_node.js sets up before it loads wasm_exec.js.
globalThis.require = require;
globalThis.fs = require("fs");
globalThis.path = require("path");
globalThis.TextEncoder = require("util").TextEncoder;
globalThis.TextDecoder = require("util").TextDecoder;
globalThis.performance ??= require("perf_hooks").performance;
globalThis.crypto ??= require("crypto");
require(require("path").resolve(wasmExec));

const bits = (v) => {
  const f = new Float32Array([v]);
  if (f[0] !== v) throw new Error(`${v} is no float32 value`);
  return new Uint32Array(f.buffer)[0];
};

(async () => {
  const trace = JSON.parse(fs.readFileSync(traceFile, "utf8"));
  const go = new Go();
  const ready = new Promise((res) => { globalThis.skirmishPredictReady = res; });
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmFile), go.importObject);
  go.run(instance); // main sets skirmishPredict, then blocks: the promise never settles
  await ready;
  const p = globalThis.skirmishPredict;
  const err = p.configure({ mode: trace.mode, speed: trace.speed, tickRate: trace.tickRate, immobile: trace.immobile,
    worldW: trace.worldW, worldH: trace.worldH });
  if (err !== null) throw new Error(`configure: ${err}`);
  const steps = [];
  const replay = [];
  const flat = trace.moves.flat();
  for (const [x0, y0] of trace.starts) {
    let x = x0;
    let y = y0;
    for (const [mx, my] of trace.moves) {
      [x, y] = p.step(x, y, mx, my);
      steps.push([bits(x), bits(y)]);
    }
    const [rx, ry] = p.replay(x0, y0, flat);
    replay.push([bits(rx), bits(ry)]);
  }
  const canMove = trace.entities.map(([kind, fields]) => p.canMove(kind, fields));
  process.stdout.write(JSON.stringify({ version: p.version, steps, replay, canMove }) + "\n");
  process.exit(0);
})().catch((e) => {
  console.error(e && e.stack || String(e));
  process.exit(1);
});
