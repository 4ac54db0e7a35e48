// A click fires (shotsFired goes up, nothing is rejected) and aiming at the
// nearest NPC (or bot) scores a hit.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "03-fire";
const SHOT_SPEED = 600; // arena projectile speed, u/s
after(h.cleanup);

/**
 * In the page: the nearest other NPC or player, led by its estimated motion
 * (the last snapshot vs. what is drawn interpDelayMs in the past), as a screen
 * point over the canvas; null if none is clickable.
 */
function aimPoint(shotSpeed) {
  const s = window.skirmish;
  const snap = s.lastSnapshot;
  if (!snap || s.state !== "playing" || s.dead) return null;
  const me = s.predicted;
  const past = new Map(window.skirmishDebug.interpolated().map((e) => [e.id, e]));
  const canvas = document.getElementById("view");
  let best = null;
  for (const e of snap.entities) {
    if (e.id === s.entityId || (e.kindName !== "npc" && e.kindName !== "player")) continue;
    if (e.kindName === "player" && s.away[e.id]) continue;
    const d = Math.hypot(e.x - me.x, e.y - me.y);
    if (d < 40 || d > 450) continue;
    if (!best || d < best.d) best = { e, d };
  }
  if (!best) return null;
  const { e, d } = best;
  const p = past.get(e.id);
  let vx = 0, vy = 0;
  const behind = Math.max(s.interpDelayMs || 0, 20) / 1000; // how far in the past others are drawn
  if (p && Math.hypot(e.x - p.x, e.y - p.y) < 40) { vx = (e.x - p.x) / behind; vy = (e.y - p.y) / behind; }
  const t = d / shotSpeed + 0.05; // flight time plus about one input's delay
  const scr = window.skirmishDebug.worldToScreen(e.x + vx * t, e.y + vy * t);
  if (scr.x < 5 || scr.y < 5 || scr.x > innerWidth - 5 || scr.y > innerHeight - 5) return null;
  if (document.elementFromPoint(scr.x, scr.y) !== canvas) return null; // under the HUD, a button…
  return { x: scr.x, y: scr.y, id: e.id, kind: e.kindName, d: Math.round(d) };
}

test("clicking fires, and aiming at the nearest NPC or bot scores", async (t) => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, server);
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });

    // One click, anywhere on the canvas: a shot goes out and is accepted.
    await page.mouse.click(640, 300);
    await h.waitForHook(page, "a shot fired and acknowledged", (s) => s.shotsFired >= 1 && s.ackSeq >= s.lastSeq - 1);
    // The aimed input carried its view time: a tick the page held, a
    // fraction in [0, 1); frames are drawn at the adaptive render time.
    const v = await page.evaluate(() => {
      const s = window.skirmish;
      return { view: s.lastView, tick: s.tick, frames: s.frames, delay: s.interpDelayMs };
    });
    assert.ok(Array.isArray(v.view) && v.view[0] > 0 && v.view[0] <= v.tick && v.tick - v.view[0] < 30 &&
      v.view[1] >= 0 && v.view[1] < 1, `view time ${JSON.stringify(v)}`);
    assert.ok(v.frames > 0 && v.delay !== null && v.delay >= 0 && v.delay <= 600, `frames ${JSON.stringify(v)}`);

    const deadline = Date.now() + 20000;
    let clicks = 1;
    let score = 0;
    while (Date.now() < deadline) {
      const aim = await page.evaluate(aimPoint, SHOT_SPEED);
      if (aim) {
        await page.mouse.move(aim.x, aim.y);
        await page.mouse.down();
        await page.mouse.up();
        clicks++;
      }
      await h.sleep(300); // above the 250 ms cooldown
      score = (await h.hook(page)).score;
      if (score > 0) break;
    }
    const s = await h.hook(page);
    t.diagnostic(`clicks ${clicks}, shots ${s.shotsFired}, score ${s.score}, rejects ${s.rejects}`);
    assert.ok(s.shotsFired >= 2, `shots fired: ${s.shotsFired}`);
    assert.ok(s.score > 0, `no hit scored in 20 s (${clicks} clicks, ${s.shotsFired} shots)`);
    assert.equal(s.rejects, 0, `rejected inputs: ${JSON.stringify(s.rejectsByCode)}`);
    assert.equal(s.scores[s.entityId], s.score, "own score in the score table");
    // The aim sent is (0, 0) or a unit vector (the server rejects a non-zero
    // aim shorter than 1e-6).
    const len = Math.hypot(s.lastAim[0], s.lastAim[1]);
    assert.ok(len === 0 || Math.abs(len - 1) < 1e-9, `last aim ${JSON.stringify(s.lastAim)} (length ${len})`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
