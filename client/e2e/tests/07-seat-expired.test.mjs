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
    const dropped = await h.hook(page); // the input loop stopped with the socket
    await h.sleep(2500);
    assert.match(await page.textContent("#status"), /reconnecting/i);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...netConditions });

    // The welcome (where 0: the seat is gone) may come first; the
    // seat_expired that follows it makes the message precise.
    await h.waitForHook(page, "the seat-expired notice", (s, text) => s.notice === text,
      { timeout: 10000, arg: SEAT_EXPIRED });
    const mid = await h.hook(page);
    t.diagnostic(`the reconnect's welcome said where=${mid.where}`);
    assert.notEqual(mid.where, 1, "not queued");
    assert.equal(mid.resumed, 0, "not resumed");
    assert.match(await page.textContent("#error"), /seat expired/);
    assert.ok(await page.isVisible("#error"), "the message is shown");
    await h.screenshot(page, `${NAME}-notice`);

    // Autoplay queues again (once): a new seat (the old match has a free
    // seat now, or a new match). Seqs never go back within a session: the
    // new seat's inputs go on above the old seat's last one (the protocol
    // once restarted them at 1).
    await h.waitForHook(page, "a new seat and its first input",
      (s, id) => s.state === "playing" && s.entityId !== id && s.snapshots > 2 && s.seatFirstSeq !== null,
      { timeout: 15000, arg: before.entityId });
    const end = await h.hook(page);
    assert.equal(end.playerId, before.playerId, "the same session");
    assert.ok(!end.errors.some((e) => e.code === 2), `queued only once: ${JSON.stringify(end.errors)}`);
    assert.ok(end.seatFirstSeq > dropped.lastSeq,
      `first seq of the new seat ${end.seatFirstSeq} above the old seat's last ${dropped.lastSeq}`);
    await h.waitForHook(page, "the new seat's inputs acknowledged", (s) => s.ackSeq >= s.seatFirstSeq);
    assert.equal((await h.hook(page)).rejects, 0, "no input of the new seat rejected");
    t.diagnostic(`entity ${before.entityId} -> ${end.entityId}, match ${before.matchId} -> ${end.matchId}, ` +
      `seq ${dropped.lastSeq} -> ${end.seatFirstSeq}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
