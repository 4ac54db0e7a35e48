// The server's side of the connection drops and the page is told nothing
// (a half-open connection through a TCP proxy: the browser's socket stays
// open and silent). The page's stall watchdog notices the silence, shows
// "reconnecting", and resumes the seat the server held.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "09-half-open";
after(h.cleanup);

test("a silent half-open connection is detected and the seat resumed", async (t) => {
  const server = await h.startServer({ name: NAME });
  const proxy = await h.startProxy(server.port);
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, proxy);
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const before = await h.hook(page);

    // Move through the cut: the inputs sent into the dead connection never
    // reach the server and must be sent again, with their seqs, on resume.
    const key = before.predicted.x < before.worldW / 2 ? "d" : "a";
    await page.keyboard.down(key);
    await h.sleep(200);
    const cut = proxy.cutUpstream();
    const cutAt = Date.now();
    assert.ok(cut >= 1, "a connection was cut");
    await h.sleep(800);
    await page.keyboard.up(key);
    await h.waitForHook(page, "reconnecting", (s) => s.state === "reconnecting", { timeout: 6000 });
    const detectMs = Date.now() - cutAt;
    assert.match(await page.textContent("#status"), /reconnecting/i);
    await h.screenshot(page, `${NAME}-reconnecting`);

    await h.waitForHook(page, "the seat resumed", (s) => s.state === "playing" && s.resumed === 1 && s.snapshots > 0,
      { timeout: 10000 });
    const end = await h.hook(page);
    assert.equal(end.matchId, before.matchId, "same match");
    assert.equal(end.entityId, before.entityId, "same avatar");
    t.diagnostic(`stall detected after ${detectMs} ms; outage ${end.lastOutageMs} ms; ${end.resends} inputs sent again`);
    assert.ok(detectMs >= 2500 && detectMs < 5000, `detected after ${detectMs} ms`);
    assert.ok(end.resends > 0, "pending inputs were sent again");

    // Every input, those sent again included, applied once and in order.
    await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
    await h.sleep(300);
    const fin = await h.hook(page);
    assert.ok(Math.abs(fin.server.x - fin.predicted.x) < 1 && Math.abs(fin.server.y - fin.predicted.y) < 1,
      `server (${fin.server.x}, ${fin.server.y}) vs predicted (${fin.predicted.x}, ${fin.predicted.y})`);
    assert.equal(fin.rejects, 0, `rejected inputs: ${JSON.stringify(fin.rejectsByCode)}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
