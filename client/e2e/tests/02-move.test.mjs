// Holding a movement key moves the own avatar at the arena speed (200 u/s)
// in the prediction, which runs the mode's Go code compiled to WebAssembly
// (skirmish.predictor "wasm"), and the server agrees once released.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "02-move";
const SPEED = 200; // arena, u/s
const HOLD_MS = 1500;
after(h.cleanup);

test("holding D (or A) moves the avatar; prediction matches the server", async (t) => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, server);
    // Alone: the match starts after the fill timeout (2 s) with the NPCs.
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const s0 = await h.hook(page);
    // The prediction runs the mode's Go code, compiled to WebAssembly.
    assert.equal(s0.predictor, "wasm", `predictor ${s0.predictor} (${s0.predictorError})`);
    assert.equal(s0.description.speed, SPEED, "the mode description's speed");
    // Go right unless that would hit the world's edge.
    const goRight = s0.predicted.x + SPEED * (HOLD_MS / 1000) * 1.3 < s0.worldW;
    const key = goRight ? "d" : "a";
    const sign = goRight ? 1 : -1;

    await page.mouse.move(5, 400); // away from everything; no click
    // The hold as the page sees it (time and predicted position at the key
    // events), not as this process does: a loaded machine delays the
    // browser's answers, never the page's own clock.
    await page.evaluate(() => {
      window.__hold = {};
      for (const type of ["keydown", "keyup"]) {
        window.addEventListener(type, (ev) => {
          if (!window.__hold[type]) window.__hold[type] = { t: ev.timeStamp, x: window.skirmish.predicted.x };
        });
      }
    });
    await page.keyboard.down(key);
    const start = await h.hook(page);
    await h.sleep(HOLD_MS);
    await page.keyboard.up(key);
    const released = await h.hook(page);
    const hold = await page.evaluate(() => window.__hold);
    const held = (hold.keyup.t - hold.keydown.t) / 1000;

    const dx = released.predicted.x - hold.keydown.x;
    const expected = sign * SPEED * held;
    // One input per tick at 30 Hz: allow a few ticks of timer slack.
    t.diagnostic(`held ${held.toFixed(2)} s: predicted dx ${dx.toFixed(1)} u (expected ≈ ${expected.toFixed(1)})`);
    assert.ok(Math.abs(dx - expected) <= SPEED * 0.15,
      `predicted x moved ${dx.toFixed(1)} u in ${held.toFixed(2)} s, expected ≈ ${expected.toFixed(1)}`);
    assert.ok(Math.abs(released.predicted.y - start.predicted.y) < 0.01, "no vertical motion");

    // After release every input is still: the server catches up with the prediction.
    await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
    await h.sleep(300);
    const end = await h.hook(page);
    assert.ok(Math.abs(end.server.x - end.predicted.x) < 1 && Math.abs(end.server.y - end.predicted.y) < 1,
      `server (${end.server.x}, ${end.server.y}) vs predicted (${end.predicted.x}, ${end.predicted.y})`);
    assert.ok(Math.abs(end.server.x - released.predicted.x) < 1,
      `server x ${end.server.x} vs predicted x at release ${released.predicted.x}`);
    assert.equal(end.rejects, 0, `rejected inputs: ${JSON.stringify(end.rejectsByCode)}`);
    assert.ok(end.correction < 1, `last reconciliation correction ${end.correction}`);
    // Nothing pending: the prediction is the server's position exactly.
    assert.equal(end.predicted.x, end.server.x, "predicted x is the server's");
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
