// Measures the browser client on loopback: what the page transfers (every
// file as served, gzip-compressed when the server compresses) and how long
// it takes, from navigation start, to its first contentful paint, its
// first animation frame, and its first frame with a snapshot (autoplay, a
// match that starts at once: -fill-timeout 10ms). Each run is a fresh
// Chromium profile (nothing cached). SKIRMISH_BIN picks the server (so an
// older build can be compared).
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
    // The first animation frame once the page's hook exists (its first
    // drawn frame), and the first one once it holds a snapshot: measured
    // from outside the page's code, so that any version of it compares.
    await page.addInitScript(() => {
      const tick = () => {
        const s = window.skirmish;
        const now = performance.now();
        if (s && window.__fd === undefined) window.__fd = now;
        if (s && s.snapshots > 0 && window.__ff === undefined) window.__ff = now;
        if (window.__ff === undefined) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.goto(`${server.url}/?autoplay=1&name=measure`, { waitUntil: "load" });
    await page.waitForFunction(() => window.__ff !== undefined, null, { timeout: 20000 });
    const r = await page.evaluate(() => {
      const res = performance.getEntriesByType("resource").filter((e) => !/\/(v1|ws|healthz)/.test(e.name));
      const nav = performance.getEntriesByType("navigation")[0];
      const files = [nav, ...res].map((e) => ({ name: new URL(e.name).pathname, body: e.encodedBodySize,
        decoded: e.decodedBodySize, transfer: e.transferSize }));
      const fcp = performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
      return { files, fcp: fcp ? Math.round(fcp.startTime * 10) / 10 : null, firstDraw: Math.round(window.__fd * 10) / 10, firstFrame: Math.round(window.__ff * 10) / 10,
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
const fc = out.map((r) => r.fcp);
console.log(`first contentful paint:    median ${median(fc)} ms, worst ${Math.max(...fc)} ms (${fc.join(", ")})`);
console.log(`first drawn frame:         median ${median(fd)} ms, worst ${Math.max(...fd)} ms (${fd.join(", ")})`);
console.log(`first frame with snapshot: median ${median(ff)} ms, worst ${Math.max(...ff)} ms (${ff.join(", ")})`);
const pr = out.map((r) => r.ready).filter((v) => typeof v === "number");
if (pr.length) console.log(`predictor ready:           median ${median(pr)} ms, worst ${Math.max(...pr)} ms (${pr.join(", ")})`);
console.log(`predictor: ${out.map((r) => r.predictor).join(", ")}`);
