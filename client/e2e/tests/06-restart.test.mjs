// The server crashes (SIGKILL) in the middle of a match and comes back on
// the same address. Without a session store the old token is unknown: the
// page gets a new session, says the match is gone and, with autoplay, plays
// a new match. With Redis the server is a fleet of one node: the restarted
// node (a new node id) adopts the dead node's match from its latest
// checkpoint once the dead node's record expires, and the page, which kept
// reconnecting with the same token, resumes the same seat in the same
// match.
//
// While the server is down, Chromium logs every failed WebSocket attempt
// (and the page's /healthz probe) as a console error: those, and only
// those, are allowed here.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "06-restart";
const MATCH_GONE = "The match is gone (server restarted)";
const SERVER_DOWN_ERRORS = [
  /WebSocket connection to '.*' failed/,
  /Failed to load resource: net::ERR_CONNECTION_REFUSED/,
  /Failed to load resource: the server responded with a status of 401/,
];
after(h.cleanup);

/**
 * Plays a match, kills the server, restarts it on the same port after
 * 500 ms and returns the page with the hook before the crash and just
 * after the drop; then(page, before, dropped) checks what follows.
 */
async function crashAndRestart(t, name, args, then) {
  const first = await h.startServer({ name, args });
  const { page, errors } = await h.launchBrowser({ name });
  try {
    await h.openClient(page, first);
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const before = await h.hook(page);

    await first.stop("SIGKILL");
    await h.waitForHook(page, "reconnecting after the crash", (s) => s.state === "reconnecting", { timeout: 5000 });
    const dropped = await h.hook(page); // the input loop stopped with the connection
    assert.match(await page.textContent("#status"), /reconnecting/i);
    await h.sleep(500);
    await h.startServer({ name, args, port: first.port });
    return await then(page, before, dropped);
  } finally {
    await h.screenshot(page, name);
    const unexpected = h.unexpectedErrors(errors, SERVER_DOWN_ERRORS);
    assert.deepEqual(unexpected, [], "console errors other than failed connections to the stopped server");
  }
}

test("after a crash and restart without a store: new session, new match", async (t) => {
  await crashAndRestart(t, `${NAME}-memory`, [], async (page, before, dropped) => {
    // The new session's welcome (where 0) puts the page in the lobby: the
    // match is gone.
    await h.waitForHook(page, "the match-gone notice", (s, text) => s.notice === text,
      { timeout: 15000, arg: MATCH_GONE });
    const mid = await h.hook(page);
    assert.equal(mid.where, 0, "the welcome after the restart said: in the lobby");
    assert.match(await page.textContent("#error"), /match is gone/);
    assert.ok(await page.isVisible("#error"), "the message is shown");
    await h.waitForHook(page, "a new match and its first input",
      (s, id) => s.state === "playing" && s.matchId !== id && s.snapshots > 0 && s.seatFirstSeq !== null,
      { timeout: 15000, arg: before.matchId });
    const end = await h.hook(page);
    assert.equal(end.resumed, 0, "nothing to resume");
    assert.ok(!end.errors.some((e) => e.code === 2), `queued only once: ${JSON.stringify(end.errors)}`);
    // Seqs never go back within the page's life: the new seat's first
    // input is above the last one sent in the old match.
    assert.ok(end.seatFirstSeq > dropped.lastSeq,
      `first seq of the new seat ${end.seatFirstSeq} above the old match's last ${dropped.lastSeq}`);
    assert.notEqual(end.playerId, before.playerId, "a new guest session");
    t.diagnostic(`player ${before.playerId} -> ${end.playerId}, match ${before.matchId} -> ${end.matchId}, ` +
      `reconnect attempts ${end.reconnectAttempts}`);
  });
});

// run.sh installs redis-server when it is missing: without it this test
// fails rather than checking nothing.
test("after a crash and restart with Redis: the same session resumes the same match, adopted from its checkpoint", async (t) => {
  assert.ok(h.redisServerBin(), "redis-server is not installed (run.sh installs it as root)");
  const redis = await h.startRedis({ name: `${NAME}-redis` });
  try {
    await crashAndRestart(t, `${NAME}-redis`, ["-redis", redis.addr], async (page, before, dropped) => {
      // The dead node's record expires 3 s after its last refresh; the
      // restarted node then adopts its match and holds our hello until then.
      await h.waitForHook(page, "the seat resumed", (s, r) => s.state === "playing" && s.resumed > r && s.snapshots > 0,
        { timeout: 15000, arg: before.resumed });
      const end = await h.hook(page);
      assert.equal(end.playerId, before.playerId, "the same guest session");
      assert.equal(end.matchId, before.matchId, "the same match");
      assert.equal(end.entityId, before.entityId, "the same avatar");
      assert.equal(end.where, 2, "the welcome said: seated");
      assert.equal(end.seatFirstSeq, before.seatFirstSeq, "the same seat");
      assert.equal(end.notice, "", "no seat lost");
      assert.deepEqual(end.errors, [], "no error from the server");
      assert.ok(!(await page.isVisible("#error")), "no error shown");
      // The match goes on: new inputs after the last one sent before the crash.
      await h.waitForHook(page, "new inputs", (s, last) => s.lastSeq > last && s.ackSeq > last,
        { timeout: 5000, arg: dropped.lastSeq });
      assert.match(await page.textContent("#status"), /in match/);
      // Until the dead node's record expires, the fleet may send the page
      // to it, i.e. to this same address: never a tight loop.
      assert.ok(end.moved <= 10, `${end.moved} moves followed`);
      t.diagnostic(`match ${end.matchId} resumed after ${end.lastOutageMs ?? end.lastMoveMs} ms ` +
        `(reconnect attempts ${end.reconnectAttempts}, moved ${end.moved}, last close ${end.closeCode})`);
    });
  } finally {
    await redis.stop();
  }
});
