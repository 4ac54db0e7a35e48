// The lobby lists exactly the modes of GET /v1/modes (the page has no list
// of its own: when that request fails, it says so and offers none) and
// shows each mode's leaderboard from GET /v1/leaderboard?mode=…: two bots
// play short ranked arena matches, and
// the page's arena table shows the server's players with their wins,
// losses and score; tag's is empty; the server's error answers (400
// unknown_mode, 503 store_unavailable) are shown in the table's place.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "12-lobby";
after(h.cleanup);

test("the lobby lists the modes and shows their leaderboards and errors", async () => {
  const server = await h.startServer({ name: NAME, args: ["-arena-duration", "2s", "-arena-players", "2",
    "-fill-timeout", "300ms"] });
  h.startBots(server.url, { name: NAME, n: 2, duration: "60s" });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    // Wait until the server ranks a match.
    let board = null;
    const end = Date.now() + 30000;
    while (Date.now() < end) {
      const res = await fetch(`${server.url}/v1/leaderboard?mode=arena`);
      board = await res.json();
      if (board.players.length >= 2) break;
      await h.sleep(250);
    }
    assert.ok(board && board.players.length >= 2, `leaderboard: ${JSON.stringify(board)}`);

    await h.openClient(page, server, "name=lobby");
    await h.waitForHook(page, "the modes and the arena leaderboard",
      (s) => s.modes.length >= 3 && s.leaderboard && s.leaderboard.mode === "arena" && !s.leaderboard.loading);
    // Exactly the server's modes (GET /v1/modes), in its order: the page has no list of its own.
    const served = (await (await fetch(`${server.url}/v1/modes`)).json()).modes;
    const names = served.map((m) => m.name);
    assert.ok(["arena", "ctf", "tag"].every((n) => names.includes(n)), `GET /v1/modes: ${names}`);
    const s = await h.hook(page);
    assert.deepEqual(s.modes.map((m) => m.name), names);
    assert.deepEqual(s.modes.map((m) => [m.title, m.players]), served.map((m) => [m.title, m.players]));
    const options = await page.$$eval("#mode option", (os) => os.map((o) => o.value));
    assert.deepEqual(options, names, "mode options");
    const tabs = await page.$$eval("#mode-list button", (bs) => bs.map((b) => b.dataset.mode));
    assert.deepEqual(tabs, names, "leaderboard tabs");

    // The table is the server's answer (it may have ranked more since: re-read both).
    await page.click('#mode-list button[data-mode="arena"]');
    await h.waitForHook(page, "the arena leaderboard again", (s) => s.leaderboard && !s.leaderboard.loading);
    const shown = (await h.hook(page)).leaderboard.players;
    const rows = await page.$$eval("#board tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    assert.ok(rows.length >= 2, `rows ${JSON.stringify(rows)}`);
    rows.forEach((r, i) => {
      const p = shown[i];
      assert.deepEqual(r, [String(i + 1), p.name, String(p.wins), String(p.losses), String(p.score)]);
    });
    assert.ok(rows.some((r) => Number(r[2]) > 0), "someone won");
    assert.ok(await page.isVisible("#board"), "the table is shown");

    // Tag: nobody ranked yet.
    await page.click('#mode-list button[data-mode="tag"]');
    await h.waitForHook(page, "the tag leaderboard", (s) => s.leaderboard.mode === "tag" && !s.leaderboard.loading);
    assert.equal(await page.$$eval("#board tbody tr", (trs) => trs.length), 0);
    assert.match(await page.textContent("#board-note"), /no ranked match yet/);

    // The server's error answers are shown, not swallowed.
    await page.evaluate(() => window.skirmishDebug.showLeaderboard("nope"));
    await h.waitForHook(page, "the unknown mode's answer", (s) => s.leaderboard.mode === "nope" && !s.leaderboard.loading);
    assert.match(await page.textContent("#board-note"), /unknown_mode \(HTTP 400\)/);
    assert.ok(await page.isVisible("#board-note") && !(await page.isVisible("#board")), "the error replaces the table");

    await page.route("**/v1/leaderboard?mode=tag", (route) => route.fulfill({
      status: 503, contentType: "application/json", body: '{"error":"store_unavailable"}\n' }));
    await page.click('#mode-list button[data-mode="tag"]');
    await h.waitForHook(page, "the 503", (s) => s.leaderboard.mode === "tag" && s.leaderboard.error !== null);
    assert.match(await page.textContent("#board-note"), /leaderboard unavailable: store_unavailable \(HTTP 503\)/);

    // No list of modes: an error, no mode offered, nothing to play.
    await page.route("**/v1/modes", (route) => route.fulfill({
      status: 503, contentType: "application/json", body: '{"error":"unavailable"}\n' }));
    await h.openClient(page, server, "name=lobby");
    await h.waitForHook(page, "the failed list of modes", (s) => s.modesError !== null);
    const failed = await h.hook(page);
    assert.deepEqual(failed.modes, []);
    assert.match(failed.modesError, /HTTP 503/);
    assert.equal(await page.$$eval("#mode option", (os) => os.length), 0, "no mode offered");
    assert.ok(await page.isDisabled("#play"), "Play is disabled");
    assert.match(await page.textContent("#error"), /list of modes did not load/);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors, [/status of (400|503)/]), [], "console errors");
});
