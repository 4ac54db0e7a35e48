// The page loads, creates a session, queues, and plays an arena match with
// 7 bots: 8 players in the score table.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "01-join";
after(h.cleanup);

test("the page joins an arena match with 7 bots", async () => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, server);
    await h.waitForHook(page, "the page to queue", (s) => s.state === "queued" || s.state === "playing");
    const before = await h.hook(page);
    assert.ok(before.playerId, "a session was created (playerId)");
    assert.equal(before.version, 3, "protocol version 3 negotiated");

    h.startBots(server.url, { name: NAME, n: 7, duration: "60s", behavior: "wander", extra: ["-ramp", "300ms"] });
    await h.waitForHook(page, "8 players in the score table",
      (s) => s.state === "playing" && s.snapshots > 0 && Object.keys(s.scores).length === 8, { timeout: 20000 });

    const s = await h.hook(page);
    assert.equal(s.mode, "arena");
    assert.match(s.matchId, /.+/);
    assert.ok(s.entityId > 0, "own entity id");
    assert.ok(String(s.entityId) in s.scores, "own entity in the score table");
    assert.ok(s.lastSnapshot.entities.some((e) => e.id === s.entityId && e.kindName === "player"), "own avatar in view");
    assert.ok(s.entities > 1, "other entities in view");
    assert.ok(s.timeLeftMs > 0, "time left");
    // Let a few more snapshots through, then check the scoreboard drawn in the page.
    await h.sleep(300);
    const rows = await page.$$eval("#scoreboard tbody tr", (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, 8, `scoreboard rows: ${JSON.stringify(rows)}`);
    assert.ok(rows.some((r) => r.startsWith("you")), "own row in the scoreboard");
    assert.match(await page.textContent("#status"), /in match/);
    assert.deepEqual((await h.hook(page)).errors, [], "no protocol or mirror errors in the page");
    assert.equal(s.where, 0, "a new session's welcome says: in the lobby");

    // Leave: the page is in the lobby at once. A second leave (as a leave
    // that crossed the end of the match would be) gets error 3 not_queued,
    // which the page takes quietly.
    await page.click("#leave");
    await h.waitForHook(page, "the lobby after leave", (s) => s.state === "lobby");
    await page.evaluate(() => window.skirmishDebug.leave());
    await h.waitForHook(page, "not_queued for the second leave", (s) => s.errors.some((e) => e.code === 3));
    await h.sleep(200);
    const left = await h.hook(page);
    assert.equal(left.state, "lobby");
    assert.equal(left.status, "left: lobby", "the status stays quiet");
    assert.ok(!(await page.isVisible("#error")), "no error shown for not_queued");
    assert.deepEqual(left.errors.map((e) => e.code), [3], "only not_queued");
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
