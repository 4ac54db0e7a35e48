// Measures the browser client on loopback: what the page transfers (every
// file as served, gzip-compressed) and how long it takes, from navigation
// start, to its first drawn frame and to its first frame drawn with a
// snapshot (autoplay, a match that starts at once: -fill-timeout 10ms).
// Each run is a fresh Chromium profile (nothing cached).
//
//   node measure.mjs [runs]        (default 5; `make build` first)
import * as h from "./lib/harness.mjs";

const runs = Number(process.argv[2] || 5);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;

const server = await h.startServer({ name: "measure", args: ["-fill-timeout", "10ms"] });
const out = [];
try {
  for (let i = 0; i < runs; i++) {
    const { page, close } = await h.launchBrowser({ name: "measure" });
    await page.goto(`${server.url}/?autoplay=1&name=measure`, { waitUntil: "load" });
    await page.waitForFunction(() => window.skirmish && window.skirmish.firstFrameMs !== null, null, { timeout: 20000 });
    const r = await page.evaluate(() => {
      const res = performance.getEntriesByType("resource").filter((e) => !/\/(v1|ws|healthz)/.test(e.name));
      const nav = performance.getEntriesByType("navigation")[0];
      const files = [nav, ...res].map((e) => ({ name: new URL(e.name).pathname, body: e.encodedBodySize,
        decoded: e.decodedBodySize, transfer: e.transferSize }));
      return { files, firstDraw: window.skirmish.firstDrawMs, firstFrame: window.skirmish.firstFrameMs,
        predictor: window.skirmish.predictor, ready: window.skirmish.predictorReadyMs };
    });
    out.push(r);
    await close();
  }
} finally {
  await h.cleanup();
}
const body = (r) => r.files.reduce((a, f) => a + f.body, 0);
const transfer = (r) => r.files.reduce((a, f) => a + f.transfer, 0);
const decoded = (r) => r.files.reduce((a, f) => a + f.decoded, 0);
for (const f of out[0].files) console.log(`  ${f.name.padEnd(24)} ${String(f.body).padStart(8)} B served (${f.decoded} B uncompressed)`);
console.log(`page: ${kb(body(out[0]))} compressed bodies, ${kb(transfer(out[0]))} with headers, ${kb(decoded(out[0]))} uncompressed (${out[0].files.length} files)`);
const fd = out.map((r) => r.firstDraw);
const ff = out.map((r) => r.firstFrame);
console.log(`first drawn frame:         median ${median(fd)} ms, worst ${Math.max(...fd)} ms (${fd.join(", ")})`);
console.log(`first frame with snapshot: median ${median(ff)} ms, worst ${Math.max(...ff)} ms (${ff.join(", ")})`);
const pr = out.map((r) => r.ready);
console.log(`predictor ready:           median ${median(pr)} ms, worst ${Math.max(...pr)} ms (${pr.join(", ")})`);
console.log(`predictor: ${out.map((r) => r.predictor).join(", ")}`);
