// A network cut (DevTools offline emulation for ~2 s) in the middle of a
// match: the page shows "reconnecting", then resumes the same seat (same
// match, same avatar) with its input history intact.
//
// Offline emulation does not close an open WebSocket in Chromium: it stalls
// it (frames are held until the network is back). The page notices the cut
// through the browser's "offline" event (and, failing that, a 3 s stall
// watchdog), gives the socket up, and reconnects when the network is back.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "04-resume-offline";
const OFFLINE_MS = 2000;
after(h.cleanup);

test("a 2 s network cut shows reconnecting, then resumes the same seat", async (t) => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, server);
    await h.waitForHook(page, "the page to queue", (s) => s.state === "queued" || s.state === "playing");
    h.startBots(server.url, { name: NAME, n: 3, duration: "40s", behavior: "wander", extra: ["-ramp", "200ms"] });
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const before = await h.hook(page);

    // Keep moving through the cut: the inputs in flight must survive it.
    const key = before.predicted.x < before.worldW / 2 ? "d" : "a";
    await page.keyboard.down(key);
    await h.sleep(300);

    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    const conditions = { latency: 0, downloadThroughput: -1, uploadThroughput: -1 };
    await cdp.send("Network.emulateNetworkConditions", { offline: true, ...conditions });
    const cutAt = Date.now();
    let sawReconnecting = "";
    while (Date.now() - cutAt < OFFLINE_MS) {
      const text = await page.textContent("#status");
      if (/reconnecting/i.test(text)) sawReconnecting = text;
      await h.sleep(100);
    }
    const during = await h.hook(page);
    await page.keyboard.up(key);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...conditions });
    t.diagnostic(`status during the cut: "${sawReconnecting}"`);
    assert.match(sawReconnecting, /reconnecting/i, "the status showed reconnecting during the cut");
    assert.equal(during.state, "reconnecting");

    await h.waitForHook(page, "the seat resumed (state playing, resumed 1)",
      (s, r) => s.state === "playing" && s.resumed > r && s.snapshots > 0, { timeout: 10000, arg: before.resumed });
    const after = await h.hook(page);
    assert.equal(after.matchId, before.matchId, "same match");
    assert.equal(after.entityId, before.entityId, "same avatar");
    assert.equal(after.resumed, before.resumed + 1, "resumed once");
    assert.equal(after.where, 2, "the reconnect's welcome said: seated");
    assert.ok(after.reconnects >= before.reconnects + 1, "reconnected");
    t.diagnostic(`outage ${after.lastOutageMs} ms, reconnects ${after.reconnects}, resends ${after.resends}`);

    // The inputs around the cut were all applied once, in order: the server
    // position agrees with the prediction, and nothing was reported missing.
    await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
    await h.sleep(300);
    const end = await h.hook(page);
    assert.ok(Math.abs(end.server.x - end.predicted.x) < 1 && Math.abs(end.server.y - end.predicted.y) < 1,
      `server (${end.server.x}, ${end.server.y}) vs predicted (${end.predicted.x}, ${end.predicted.y})`);
    assert.equal(end.rejects, 0, `rejected inputs: ${JSON.stringify(end.rejectsByCode)}`);
    // The same seat goes on with the same seq counter.
    assert.equal(end.seatFirstSeq, before.seatFirstSeq, "the same seat's first seq");
    assert.ok(end.lastSeq > during.lastSeq, `seqs went on (${during.lastSeq} -> ${end.lastSeq})`);
    assert.ok(end.fullViews >= 2, "a full view after the resume");
    assert.match(await page.textContent("#status"), /in match/);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
