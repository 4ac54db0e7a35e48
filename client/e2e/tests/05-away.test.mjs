// Two pages in one match. Page A's socket is dropped from the page
// (skirmishDebug.dropSocket(): the server sees the close) and A stays
// offline for a while: page B shows A as "away" (seat held), then A comes
// back, resumes its seat, and B shows it present again. A second drop
// without the network cut resumes at once.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "05-away";
after(h.cleanup);

const netConditions = { latency: 0, downloadThroughput: -1, uploadThroughput: -1 };

test("a dropped player is shown away to the others, then resumes", async (t) => {
  const server = await h.startServer({ name: NAME });
  const A = await h.launchBrowser({ name: `${NAME}-a` });
  const B = await h.launchBrowser({ name: `${NAME}-b` });
  try {
    await h.openClient(A.page, server, "autoplay=1&name=alice");
    await h.openClient(B.page, server, "autoplay=1&name=bob");
    for (const p of [A.page, B.page]) {
      await h.waitForHook(p, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
        { timeout: 15000 });
    }
    const a0 = await h.hook(A.page);
    const b0 = await h.hook(B.page);
    assert.equal(a0.matchId, b0.matchId, "both pages in the same match");
    await h.waitForHook(B.page, "A in B's score table", (s, id) => id in s.scores, { arg: a0.entityId });

    // Drop A's socket from the page; as soon as it is closed, cut A's
    // network so that its reconnection waits.
    const cdp = await A.context.newCDPSession(A.page);
    await cdp.send("Network.enable");
    await A.page.evaluate(() => new Promise((res) => {
      window.skirmishDebug.dropSocket();
      const t0 = performance.now();
      const poll = () => (window.skirmish.closeCode === 4999 || performance.now() - t0 > 2000 ? res() : setTimeout(poll, 2));
      poll();
    }));
    await cdp.send("Network.emulateNetworkConditions", { offline: true, ...netConditions });
    const cutAt = Date.now();

    await h.waitForHook(B.page, "B to show A away", (s, id) => s.away[id] === true, { arg: a0.entityId, timeout: 5000 });
    // (The row is named by A's name when the server sends it, else #id.)
    const row = await B.page.$$eval("#scoreboard tbody tr", (trs, id) =>
      trs.filter((tr) => tr.dataset.entity === String(id)).map((tr) => ({ text: tr.textContent, cls: tr.className }))[0],
    a0.entityId);
    assert.ok(row && /away/.test(row.text) && row.cls === "away", `B's scoreboard row for A: ${JSON.stringify(row)}`);
    assert.match(await A.page.textContent("#status"), /reconnecting/i, "A shows reconnecting");
    await h.sleep(Math.max(0, 1500 - (Date.now() - cutAt)));
    await h.screenshot(B.page, `${NAME}-b-sees-away`);
    await h.screenshot(A.page, `${NAME}-a-reconnecting`);

    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...netConditions });
    await h.waitForHook(A.page, "A to resume its seat", (s) => s.state === "playing" && s.resumed === 1 && s.snapshots > 0,
      { timeout: 10000 });
    const a1 = await h.hook(A.page);
    assert.equal(a1.matchId, a0.matchId, "same match");
    assert.equal(a1.entityId, a0.entityId, "same avatar");
    assert.equal(a1.where, 2, "A's reconnect welcome said: seated");
    await h.waitForHook(B.page, "B to show A back", (s, id) => !s.away[id], { arg: a0.entityId, timeout: 5000 });
    t.diagnostic(`A's outage ${a1.lastOutageMs} ms`);

    // A plain page-side drop: reconnect and resume straight away.
    await A.page.evaluate(() => window.skirmishDebug.dropSocket());
    await h.waitForHook(A.page, "A to resume again", (s) => s.state === "playing" && s.resumed === 2, { timeout: 10000 });
    const a2 = await h.hook(A.page);
    assert.equal(a2.entityId, a0.entityId, "same avatar after the second drop");
    assert.equal(a2.where, 2, "A's second reconnect welcome said: seated");
    assert.ok(a2.reconnects >= 2, `reconnects ${a2.reconnects}`);
    t.diagnostic(`A's second outage ${a2.lastOutageMs} ms`);
    assert.equal(a2.rejects, 0, `A's rejected inputs: ${JSON.stringify(a2.rejectsByCode)}`);
  } finally {
    await h.screenshot(A.page, `${NAME}-a`);
    await h.screenshot(B.page, `${NAME}-b`);
  }
  assert.deepEqual(h.unexpectedErrors(A.errors), [], "A's console errors");
  assert.deepEqual(h.unexpectedErrors(B.errors), [], "B's console errors");
});
