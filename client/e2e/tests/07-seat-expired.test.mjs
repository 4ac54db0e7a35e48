// A player who stays away longer than the seat grace (-seat-grace 1s here)
// loses the seat: on reconnecting the server says seat_expired, the page
// goes back to the lobby with a message and, with autoplay, plays again.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "07-seat-expired";
const SEAT_EXPIRED = "Your seat expired — back in the lobby";
after(h.cleanup);

const netConditions = { latency: 0, downloadThroughput: -1, uploadThroughput: -1 };

test("a seat lost while away: seat_expired, back to the lobby, then a new seat", async (t) => {
  const server = await h.startServer({ name: NAME, args: ["-seat-grace", "1s"] });
  const { page, context, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, server);
    await h.waitForHook(page, "the page to queue", (s) => s.state === "queued" || s.state === "playing");
    // Two bots keep the match going while the page is away.
    h.startBots(server.url, { name: NAME, n: 2, duration: "30s", behavior: "wander", extra: ["-ramp", "100ms"] });
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const before = await h.hook(page);

    // Drop the socket (the server sees it) and stay offline past the grace.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await page.evaluate(() => new Promise((res) => {
      window.skirmishDebug.dropSocket();
      const t0 = performance.now();
      const poll = () => (window.skirmish.closeCode === 4999 || performance.now() - t0 > 2000 ? res() : setTimeout(poll, 2));
      poll();
    }));
    await cdp.send("Network.emulateNetworkConditions", { offline: true, ...netConditions });
    await h.sleep(2500);
    assert.match(await page.textContent("#status"), /reconnecting/i);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...netConditions });

    await h.waitForHook(page, "the seat-expired notice", (s) => s.notice !== "", { timeout: 10000 });
    const mid = await h.hook(page);
    assert.equal(mid.notice, SEAT_EXPIRED);
    assert.equal(mid.resumed, 0, "not resumed");
    assert.match(await page.textContent("#error"), /seat expired/);
    assert.ok(await page.isVisible("#error"), "the message is shown");
    await h.screenshot(page, `${NAME}-notice`);

    // Autoplay queues again: a new seat (the old match has a free seat now,
    // or a new match), numbering inputs from 1 again.
    await h.waitForHook(page, "a new seat", (s, id) => s.state === "playing" && s.entityId !== id && s.snapshots > 2,
      { timeout: 15000, arg: before.entityId });
    const end = await h.hook(page);
    assert.equal(end.playerId, before.playerId, "the same session");
    assert.ok(end.lastSeq < 200, `seqs start over on a new seat (lastSeq ${end.lastSeq})`);
    t.diagnostic(`entity ${before.entityId} -> ${end.entityId}, match ${before.matchId} -> ${end.matchId}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
