// A mode the page has never heard of ("relay", scripted on a routed game
// socket; the real server serves the page and the session) is drawn and
// played from what its `matched` declares, with the WebAssembly predictor
// and with the JavaScript fallback: its kinds' shapes in their teams'
// colours (teams[n−1] of the team field), names from score entries, its
// event in the feed, its speed in the prediction (posScale 4), its actions
// on their declared bits ("fire" on click, the other on key 1), and its
// immobility rule (a stunned avatar neither moves nor acts).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as h from "../lib/harness.mjs";

const require = createRequire(import.meta.url);
const { encode, decode } = require("../../../web/static/vendor/msgpack.min.js");

const NAME = "16-any-mode";
after(h.cleanup);

const OWN = 7, BOB = 8, BEACON = 9;
const POS = 4; // posScale: x and y travel in quarter units
const SPEED = 150; // u/s at 30 Hz: 5 u a tick, exactly, in float32 from 1000
const TEAMS = [["gold", "#ffd700"], ["teal", "#008080"]];
// fields: team, stun, it, charge
const SCHEMA = [POS, [["runner", "square", "#123456", 12, -2, 0], ["beacon", "diamond", "#abcdef", 20, 3, 0]],
  [["team", 1], ["stun", 1], ["it", 1], ["charge", 0.5]]];
// dash on bit 2 (not aimed), fire on bit 5 (aimed); stunned while stun ≥ 1.
const INFO = [SPEED, 12, 800, [[2, "dash", 15, false], [5, "fire", 6, true]], [[9, "zap", "player", "player"]],
  TEAMS, [1, 1, 1e9]];
const matched = [2, "m-relay", "relay", OWN, 30, 2000, 1000, SCHEMA, 100, 100 + 9000, 0, INFO];
// A full view: reset, scores (with names), creates [handle, id, kind, x, y, team, stun, it, charge].
const fullView = [3, 100, 0, 1 | 16 | 32, [],
  [[OWN, 0, false, "e2e"], [BOB, 3, false, "bob"]],
  [[0, OWN, 0, 1000 * POS, 500 * POS, 1, 0, 0, 0],
    [1, BOB, 0, 1150 * POS, 500 * POS, 2, 0, 1, 0],
    [2, BEACON, 1, 850 * POS, 500 * POS, 2, 0, 0, 10]]];

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const near = (a, b, tol = 8) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

function pixelAt(page, x, y) {
  return page.evaluate(([x, y]) => {
    const canvas = document.getElementById("view");
    const dpr = canvas.width / canvas.clientWidth;
    const p = window.skirmishDebug.worldToScreen(x, y);
    const d = canvas.getContext("2d").getImageData(Math.round(p.x * dpr), Math.round(p.y * dpr), 1, 1).data;
    return [d[0], d[1], d[2]];
  }, [x, y]);
}

async function until(what, fn, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await h.sleep(20);
  }
}

for (const predictor of ["wasm", "js"]) {
  test(`a mode the page does not know, drawn and played from matched (${predictor} predictor)`, async () => {
    const name = `${NAME}-${predictor}`;
    const server = await h.startServer({ name });
    const { page, errors } = await h.launchBrowser({ name });
    let sock = null;
    let tick = 101;
    await page.routeWebSocket((url) => url.pathname === "/ws", (ws) => {
      const s = { ws, got: [], autoAck: true, send: (msg) => ws.send(Buffer.from(encode(msg))) };
      sock = s;
      ws.onMessage((data) => {
        const msg = decode(typeof data === "string" ? Buffer.from(data) : data);
        s.got.push(msg);
        if (msg[0] === 3) s.send([5, msg[1], Date.now()]); // ping: pong
        // Acknowledge at once, leaving the avatar where it is (while
        // autoAck the inputs are still, or the avatar is stunned).
        if (msg[0] === 2 && s.autoAck) s.send([3, tick++, msg[1], 0, []]);
      });
    });
    const inputs = () => sock.got.filter((m) => m[0] === 2);
    try {
      if (predictor === "js") {
        await page.route("**/wasm/predict.wasm", (route) => route.fulfill({ status: 404, body: "not built" }));
      }
      await h.openClient(page, server, "autoplay=1&name=e2e&mode=relay");
      await until("hello", () => sock && sock.got.some((m) => m[0] === 0));
      sock.send([0, 3, "p-mock", "e2e", 0]);
      const queue = await until("queue", () => sock.got.find((m) => m[0] === 1), 15000);
      assert.deepEqual(queue, [1, "relay"]);
      sock.send([1, "relay"]);
      sock.send(matched);
      sock.send(fullView);
      await h.waitForHook(page, "playing relay", (s) => s.state === "playing" && s.mode === "relay" && s.snapshots >= 1);
      const s0 = await h.hook(page);
      assert.equal(s0.predictor, predictor, `predictor ${s0.predictor} (${s0.predictorError})`);

      // The description is the declaration.
      const d = s0.description;
      assert.deepEqual(d.kinds.map((k) => [k.name, k.shape, k.color, k.size, k.label, k.team]),
        [["runner", "square", "#123456", 12, -2, 0], ["beacon", "diamond", "#abcdef", 20, 3, 0]]);
      assert.deepEqual(d.fields, [{ name: "team", scale: 1 }, { name: "stun", scale: 1 }, { name: "it", scale: 1 },
        { name: "charge", scale: 0.5 }]);
      assert.deepEqual(d.actions, [{ bit: 2, name: "dash", cooldownTicks: 15, aimed: false },
        { bit: 5, name: "fire", cooldownTicks: 6, aimed: true }]);
      assert.deepEqual(d.teams, TEAMS.map(([name, color]) => ({ name, color })));
      assert.deepEqual(d.immobile, { field: 1, min: 1, max: 1e9 });
      assert.deepEqual(d.marks, [2], "it marks a labelled entity");
      assert.equal(d.speed, SPEED);
      const beacon = s0.lastSnapshot.entities.find((e) => e.id === BEACON);
      assert.deepEqual([beacon.x, beacon.y, beacon.fields], [850, 500, [2, 0, 0, 20]], "dequantized by the float scales");

      // Drawn in the team colours (the own avatar filled with its team's too).
      await h.sleep(300);
      assert.ok(near(await pixelAt(page, 850, 500), rgb("#008080")), "the beacon in teal");
      assert.ok(near(await pixelAt(page, 1150, 500), rgb("#008080")), "bob in teal");
      const own = await pixelAt(page, (await h.hook(page)).predicted.x, 500);
      assert.ok(near(own, rgb("#ffd700")), `the own avatar in gold: ${own}`);

      // Names from the score entries; the declared event in the feed.
      assert.deepEqual((await h.hook(page)).names, { [OWN]: "e2e", [BOB]: "bob" });
      sock.send([3, tick++, 0, 8, [], [[9, OWN, BOB], [42, BOB, OWN]]]);
      await page.waitForFunction(() => /you zap bob/.test(document.getElementById("feed").textContent));
      assert.doesNotMatch(await page.textContent("#feed"), /42|undefined/, "an undeclared event is ignored");
      const rows = await page.$$eval("#scoreboard tbody tr", (trs) => trs.map((tr) => tr.textContent));
      assert.ok(rows.some((r) => r.includes("bob")), `scoreboard ${rows}`);

      // The declared speed: 5 u per input to the right, none acknowledged yet.
      await page.mouse.move(5, 5);
      sock.autoAck = false;
      await h.sleep(100);
      await h.waitForHook(page, "nothing moved yet", (s) => s.predicted.x === 1000);
      const still = inputs().length;
      await page.keyboard.down("d");
      await h.sleep(200);
      await page.keyboard.up("d");
      await h.sleep(150);
      const moved = await h.hook(page);
      const right = inputs().slice(still).filter((m) => m[2] === 1).length;
      assert.ok(right >= 2, `inputs to the right: ${right}`);
      assert.equal(moved.predicted.x, 1000 + 5 * right, `predicted after ${right} inputs`);
      // The server agrees: every input applied, the avatar where predicted.
      sock.autoAck = true;
      sock.send([3, tick++, moved.lastSeq, 0, [0, 5 * right * POS, 0]]);
      await h.waitForHook(page, "all acknowledged", (s) => s.pendingInputs === 0 && s.server.x === s.predicted.x);

      // Key 1 presses dash (bit 2), a click fires (bit 5) with a unit aim.
      await page.keyboard.press("1");
      const dash = await until("a dash", () => inputs().find((m) => m[4] === 1 << 2));
      assert.deepEqual(dash.slice(5), [0, 0], "dash is not aimed");
      await page.mouse.click(700, 200);
      const fire = await until("a shot", () => inputs().find((m) => m[4] === 1 << 5));
      assert.ok(Math.abs(Math.hypot(fire[5], fire[6]) - 1) < 1e-6, `aim ${fire.slice(5)}`);
      assert.ok(inputs().every((m) => (m[4] & ~(1 << 2 | 1 << 5)) === 0), "only declared bits");

      // Stunned (stun 1: immobile by the declared rule): no move, no action.
      const at = (await h.hook(page)).predicted.x;
      sock.send([3, tick++, (await h.hook(page)).lastSeq, 0, [1, 8, 1]]); // handle 0, field 1 (stun) +1
      await h.waitForHook(page, "stunned", (s) => s.dead === true);
      const before = inputs().length;
      await page.keyboard.down("d");
      await page.mouse.down();
      await h.sleep(300);
      await page.mouse.up();
      await page.keyboard.up("d");
      await h.sleep(150);
      const stunned = await h.hook(page);
      const later = inputs().slice(before);
      assert.ok(later.some((m) => m[2] === 1), "inputs still go");
      assert.ok(later.every((m) => m[4] === 0), "no action while immobile");
      assert.equal(stunned.predicted.x, at, "not predicted to move while immobile");
      assert.equal(stunned.server.x, at);
    } finally {
      await h.screenshot(page, name);
    }
    // 400: the lobby asks the real server for relay's leaderboard (unknown_mode).
    assert.deepEqual(h.unexpectedErrors(errors, [/status of 404/, /status of 400/]), [], "console errors");
  });
}
