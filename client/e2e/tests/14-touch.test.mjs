// Touch: a drag that starts on the left third of the screen moves the
// avatar like a joystick (full speed from 60 px), a touch elsewhere acts
// there (arena: fires, aimed at the touch). Touch emulation and touch
// events through DevTools (Input.dispatchTouchEvent).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "14-touch";
const SPEED = 200; // arena, u/s
after(h.cleanup);

test("touch: a left-side drag moves, a touch elsewhere fires", async () => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: true, maxTouchPoints: 2 });
    await h.openClient(page, server);
    await h.waitForHook(page, "a match", (s) => s.state === "playing" && s.snapshots > 2, { timeout: 15000 });
    const s0 = await h.hook(page);
    const dir = s0.predicted.x < s0.worldW / 2 ? 1 : -1;
    const touch = (type, points) => cdp.send("Input.dispatchTouchEvent", { type, touchPoints: points });

    // The joystick: from (200, 400), 80 px right (or left): full speed.
    await page.evaluate(() => { window.__t = {}; });
    await touch("touchStart", [{ x: 200, y: 400, id: 1 }]);
    await touch("touchMove", [{ x: 200 + dir * 80, y: 400, id: 1 }]);
    const x0 = (await h.hook(page)).predicted.x;
    const t0 = await page.evaluate(() => performance.now());
    await h.sleep(1000);
    const x1 = (await h.hook(page)).predicted.x;
    const t1 = await page.evaluate(() => performance.now());
    await touch("touchEnd", []);
    const moved = (x1 - x0) * dir;
    const expected = SPEED * (t1 - t0) / 1000;
    assert.ok(Math.abs(moved - expected) < SPEED * 0.25, `moved ${moved.toFixed(1)} u, expected ≈ ${expected.toFixed(1)}`);

    // A touch on the right side fires (once for a tap).
    const shots = (await h.hook(page)).shotsFired;
    await touch("touchStart", [{ x: 1000, y: 300, id: 2 }]);
    await h.waitForHook(page, "a shot", (s, n) => s.shotsFired > n, { arg: shots });
    await touch("touchEnd", []);
    const s1 = await h.hook(page);
    assert.ok(s1.lastAim && Math.abs(Math.hypot(s1.lastAim[0], s1.lastAim[1]) - 1) < 1e-6, `aim ${s1.lastAim}`);
    await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
    const end = await h.hook(page);
    assert.equal(end.rejects, 0, `rejected inputs: ${JSON.stringify(end.rejectsByCode)}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
