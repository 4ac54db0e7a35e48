// ctf in the browser, with no line of ctf code in the page: the page queues
// ctf (one player a team, the other seat a bot), draws the flags and bases
// of the kinds matched declares in their teams' colours (read back from
// the canvas), labels players with their names, predicts its avatar with
// the WebAssembly predictor, and shows the standings with their teams.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "15-ctf";
const DURATION_S = 12;
after(h.cleanup);

/** #rrggbb as [r, g, b]. */
const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/**
 * The canvas pixel under world point (x, y), [r, g, b], read in the page
 * with the camera of the last frame.
 */
function pixelAt(page, x, y) {
  return page.evaluate(([x, y]) => {
    const canvas = document.getElementById("view");
    const dpr = canvas.width / canvas.clientWidth;
    const p = window.skirmishDebug.worldToScreen(x, y);
    const d = canvas.getContext("2d").getImageData(Math.round(p.x * dpr), Math.round(p.y * dpr), 1, 1).data;
    return [d[0], d[1], d[2]];
  }, [x, y]);
}

const near = (a, b, tol = 8) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

test("ctf: flags and bases drawn in their teams' colours, names, wasm prediction, team standings", async () => {
  const server = await h.startServer({ name: NAME, args: ["-mode-opt", "ctf.team-size=1",
    "-mode-opt", `ctf.duration=${DURATION_S}s`] });
  h.startBots(server.url, { name: NAME, n: 1, duration: "60s", extra: ["-mode", "ctf"] });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, server, "autoplay=1&name=e2e&mode=ctf");
    await h.waitForHook(page, "a ctf match with a full view",
      (s) => s.state === "playing" && s.mode === "ctf" && s.snapshots > 5 && s.lastSnapshot
        && s.lastSnapshot.entities.filter((e) => e.kindName === "flag").length === 2, { timeout: 20000 });
    const s = await h.hook(page);
    assert.equal(s.predictor, "wasm", `predictor ${s.predictor} (${s.predictorError})`);

    // The description comes from matched alone: ctf's kinds, its two teams.
    const d = s.description;
    assert.deepEqual(d.kinds.map((k) => k.name), ["player", "flag", "base", "projectile"]);
    assert.deepEqual(d.teams.map((t) => t.name), ["red", "blue"]);
    const teamField = d.fields.findIndex((f) => f.name === "team");
    assert.ok(teamField >= 0 && d.kinds.every((k) => k.team === teamField), "every kind's team field");
    assert.ok(d.immobile && d.fields[d.immobile.field].name === "hp", "immobile when hp ≤ 0");
    assert.ok(d.actions.some((a) => a.name === "fire" && a.aimed && a.cooldownTicks > 0), "the fire action");
    // The player's hp is its declared meter (a bar, full at 100); no other kind has one.
    const player = d.kinds.find((k) => k.name === "player");
    assert.ok(player.meter >= 0 && d.fields[player.meter].name === "hp" && player.meterMax === 100, `player meter ${player.meter}/${player.meterMax}`);
    assert.ok(d.kinds.every((k) => k === player || k.meter === -1), "only players have a meter");

    // Both flags and bases, each of team 1 or 2, drawn in its team's colour.
    await h.sleep(300); // a few frames with the whole view
    const ents = (await h.hook(page)).lastSnapshot.entities;
    for (const kind of ["flag", "base"]) {
      const list = ents.filter((e) => e.kindName === kind);
      assert.equal(list.length, 2, `${kind}s in view`);
      assert.deepEqual(list.map((e) => e.fields[teamField]).sort(), [1, 2], `${kind}s' teams`);
    }
    for (const flag of ents.filter((e) => e.kindName === "flag")) {
      const team = d.teams[flag.fields[teamField] - 1];
      const base = ents.find((e) => e.kindName === "base" && e.fields[teamField] === flag.fields[teamField]);
      const size = d.kinds.find((k) => k.name === "base").size;
      // The base is a ring of its size around its home, the flag a triangle on it (while at home).
      const ring = await pixelAt(page, base.x + size, base.y);
      assert.ok(near(ring, rgb(team.color)), `${team.name} base ring ${ring} vs ${team.color}`);
      if (flag.fields[d.fields.findIndex((f) => f.name === "state")] === 0) {
        const fill = await pixelAt(page, flag.x, flag.y);
        assert.ok(near(fill, rgb(team.color)), `${team.name} flag ${fill} vs ${team.color}`);
      }
    }

    // Players carry names, not numbers: the bot's from its score entry.
    await h.waitForHook(page, "both players named", (s) => Object.keys(s.scores).length === 2
      && Object.keys(s.scores).every((id) => s.names[id]));
    const named = await h.hook(page);
    const bot = Object.values(named.names).find((n) => /^bot-\d+$/.test(n));
    assert.ok(bot, `names ${JSON.stringify(named.names)}`);
    const rows = await page.$$eval("#scoreboard tbody tr", (trs) => trs.map((tr) => tr.textContent));
    assert.ok(rows.some((r) => r.includes(bot)) && !rows.some((r) => r.includes("#")), `scoreboard ${rows}`);

    // The prediction (the mode's Go code in WebAssembly) agrees with the server.
    const s0 = await h.hook(page);
    if (!s0.dead) {
      const key = s0.predicted.y < s0.worldH / 2 ? "s" : "w";
      await page.keyboard.down(key);
      await h.sleep(600);
      await page.keyboard.up(key);
      await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
      await h.sleep(300);
      const s1 = await h.hook(page);
      if (!s1.dead) {
        assert.ok(Math.abs(s1.predicted.y - s0.predicted.y) > 50, `moved ${s1.predicted.y - s0.predicted.y} u`);
        assert.ok(Math.abs(s1.server.y - s1.predicted.y) < 1, `server ${s1.server.y} vs predicted ${s1.predicted.y}`);
      }
    }
    await h.screenshot(page, `${NAME}-match`);

    // The end: standings with each player's team, named in the result panel.
    await h.waitForHook(page, "the result", (s) => s.state === "over" && s.standings, { timeout: (DURATION_S + 10) * 1000 });
    const end = await h.hook(page);
    assert.equal(end.standings.length, 2);
    assert.deepEqual(end.standings.map((p) => p.team).sort(), [1, 2], `standings ${JSON.stringify(end.standings)}`);
    const result = await page.$$eval("#standings tbody tr", (trs) => trs.map((tr) => tr.textContent));
    assert.ok(result.some((r) => r.includes(bot) && /red|blue/.test(r)), `result ${result}`);
    assert.equal(end.rejects, 0, `rejects ${JSON.stringify(end.rejectsByCode)}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
