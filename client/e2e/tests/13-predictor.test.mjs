// Without its WebAssembly predictor (the request fails), the page says so
// in a notice that stays, predicts in JavaScript (skirmish.predictor "js")
// and still plays: it moves, and the server agrees with its prediction.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "13-predictor";
after(h.cleanup);

test("no WebAssembly: a clear notice, the JavaScript predictor, the game goes on", async () => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await page.route("**/wasm/predict.wasm", (route) => route.fulfill({ status: 404, body: "not built" }));
    await h.openClient(page, server);
    await h.waitForHook(page, "the fallback predictor", (s) => s.predictor === "js");
    assert.ok(await page.isVisible("#notice"), "the notice is shown");
    assert.match(await page.textContent("#notice"), /WebAssembly module could not run.*HTTP 404.*JavaScript/);
    await h.waitForHook(page, "a match", (s) => s.state === "playing" && s.snapshots > 2, { timeout: 15000 });
    const s0 = await h.hook(page);
    const key = s0.predicted.x < s0.worldW / 2 ? "d" : "a";
    await page.keyboard.down(key);
    await h.sleep(800);
    await page.keyboard.up(key);
    await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
    await h.sleep(300);
    const end = await h.hook(page);
    assert.ok(Math.abs(end.predicted.x - s0.predicted.x) > 100, `moved ${end.predicted.x - s0.predicted.x} u`);
    assert.ok(Math.abs(end.server.x - end.predicted.x) < 1, `server ${end.server.x} vs predicted ${end.predicted.x}`);
    assert.equal(end.rejects, 0);
    assert.ok(await page.isVisible("#notice"), "the notice stays");
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors, [/status of 404/]), [], "console errors");
});
