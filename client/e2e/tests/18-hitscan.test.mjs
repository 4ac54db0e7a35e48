// A mode that declares an aimed action and an event named "hitscan"
// (scripted on a routed game socket; the real server serves the page and
// the session): the right mouse button presses the action, at the mouse,
// and the input carries its view time (elements 8 and 9: the tick and
// fraction others were drawn at, in the range of the snapshots received,
// behind the newest by the adaptive delay); other inputs carry none. A
// scored "hitscan" event draws a brief line from the shooter to its
// target. Snapshots come at 30 Hz, the target moving 3 u a tick. A shot
// while moving aims from where the input's move leaves the avatar. Once
// the connection drops, frames are no longer counted.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as h from "../lib/harness.mjs";

const require = createRequire(import.meta.url);
const { encode, decode } = require("../../../web/static/vendor/msgpack.min.js");

const NAME = "18-hitscan";
after(h.cleanup);

const OWN = 7, BOB = 8;
const POS = 4;
const HITSCAN_BIT = 3, HITSCAN_EVENT = 6;
// kinds [name, shape, colour, size, label, team]; one field: hp.
const SCHEMA = [POS, [["player", "circle", "#4080ff", 16, -2, -1]], [["hp", 1]]];
// [speed, avatarRadius, interestRadius, actions, events, teams, immobile (hp <= 0)]
const INFO = [200, 16, 2000, [[HITSCAN_BIT, "hitscan", 30, true]], [[HITSCAN_EVENT, "hitscan", "player", "entity"]],
  [], [0, -1e9, 0]];
const FIRST = 100;
const matched = [2, "m-beam", "beam", OWN, 30, 2000, 1000, SCHEMA, FIRST, FIRST + 9000, 0, INFO];
const fullView = [3, FIRST, 0, 1 | 16 | 32, [],
  [[OWN, 0, false, "e2e"], [BOB, 0, false, "bob"]],
  [[0, OWN, 0, 1000 * POS, 500 * POS, 100], [1, BOB, 0, 1200 * POS, 500 * POS, 100]]];

async function until(what, fn, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await h.sleep(20);
  }
}

test("hitscan: right-click presses it with the view time; a scored one is drawn as a line", async () => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  let sock = null;
  let tick = FIRST;
  let lastSeq = 0;
  let ticker = null;
  await page.routeWebSocket((url) => url.pathname === "/ws", (ws) => {
    const s = { ws, got: [], send: (msg) => ws.send(Buffer.from(encode(msg))) };
    sock = s;
    ws.onMessage((data) => {
      const msg = decode(typeof data === "string" ? Buffer.from(data) : data);
      s.got.push(msg);
      if (msg[0] === 3) s.send([5, msg[1], Date.now()]); // ping: pong
      if (msg[0] === 2) lastSeq = Math.max(lastSeq, msg[1]);
    });
  });
  const inputs = () => sock.got.filter((m) => m[0] === 2);
  try {
    await h.openClient(page, server, "autoplay=1&name=e2e&mode=beam");
    await until("hello", () => sock && sock.got.some((m) => m[0] === 0));
    sock.send([0, 3, "p-mock", "e2e", 0]);
    await until("queue", () => sock.got.find((m) => m[0] === 1), 15000);
    sock.send([1, "beam"]);
    sock.send(matched);
    sock.send(fullView);
    // A tick every 33 ms: bob (handle 1) moves 3 u right, every input is
    // acknowledged and the own avatar stays put (no move is sent).
    ticker = setInterval(() => sock.send([3, ++tick, lastSeq, 0, [2, 3 * POS, 0]]), 1000 / 30);
    await h.waitForHook(page, "playing beam", (s) => s.state === "playing" && s.snapshots >= 20, { timeout: 10000 });
    const d = (await h.hook(page)).description;
    assert.deepEqual(d.actions, [{ bit: HITSCAN_BIT, name: "hitscan", cooldownTicks: 30, aimed: true }]);

    // Plain inputs carry no view time.
    assert.ok(inputs().length > 0 && inputs().every((m) => m.length === 7), "inputs without an aimed action: 7 elements");

    // Right-click on bob as drawn: the hitscan bit, a unit aim toward him,
    // and the view time the page drew him at.
    const at = await page.evaluate((id) => {
      const e = window.skirmishDebug.interpolated().find((x) => x.id === id);
      return { x: e.x, y: e.y, scr: window.skirmishDebug.worldToScreen(e.x, e.y) };
    }, BOB);
    await page.mouse.click(at.scr.x, at.scr.y, { button: "right" });
    const shot = await until("a hitscan input", () => inputs().find((m) => m[4] === 1 << HITSCAN_BIT));
    const sentAt = tick;
    assert.equal(shot.length, 9, `the aimed input carries its view time: ${JSON.stringify(shot)}`);
    const [viewTick, viewFrac] = [shot[7], shot[8]];
    assert.ok(Number.isInteger(viewTick) && viewTick > FIRST && viewTick < sentAt,
      `view tick ${viewTick}: within the snapshots received (${FIRST}..${sentAt})`);
    assert.ok(sentAt - viewTick <= 12, `view tick ${viewTick} is ${sentAt - viewTick} ticks behind the newest (${sentAt})`);
    assert.ok(viewFrac >= 0 && viewFrac < 1, `view fraction ${viewFrac}`);
    assert.ok(shot[5] > 0.99 && Math.abs(shot[6]) < 0.05, `aim ${shot.slice(5, 7)} toward bob, to the right`);
    const s1 = await h.hook(page);
    assert.deepEqual(s1.lastView, [viewTick, viewFrac], "the hook's last view time is the one sent");
    assert.ok(s1.frames > 0 && s1.interpDelayMs !== null && s1.interpDelayMs >= 0 && s1.interpDelayMs < 300,
      `frames ${s1.frames}, delay ${s1.interpDelayMs} ms (target ${s1.interpTargetMs}, jitter ${s1.arrivalJitterMs})`);
    // Within the cooldown, holding nothing: no second shot.
    await h.sleep(300);
    assert.equal(inputs().filter((m) => m[4] !== 0).length, 1, "one shot per click");

    // Aimed from where the input's move leaves the avatar (the server
    // moves, then acts; as the Go client): holding S, a right-click 60 u
    // right of the avatar. As each frame leaves, the page records the
    // prediction before the input and the world point under the mouse.
    const own = (await h.hook(page)).predicted;
    const click = await page.evaluate((p) => window.skirmishDebug.worldToScreen(p.x + 60, p.y), own);
    await page.evaluate((c) => {
      window.__sends = [];
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        window.__sends.push({ bytes: Array.from(new Uint8Array(data)), pred: { ...window.skirmish.predicted },
          mouse: window.skirmishDebug.screenToWorld(c.x, c.y) });
        return send.call(this, data);
      };
    }, click);
    await page.mouse.move(click.x, click.y);
    await page.keyboard.down("s");
    await h.sleep(1000); // the cooldown (30 ticks) since the first shot
    await page.mouse.click(click.x, click.y, { button: "right" });
    await until("a second hitscan input", () => inputs().filter((m) => m[4] === 1 << HITSCAN_BIT).length === 2);
    await page.keyboard.up("s");
    const sends = await page.evaluate(() => window.__sends);
    const rec = sends.map((r) => ({ ...r, msg: decode(Buffer.from(r.bytes)) }))
      .find((r) => r.msg[0] === 2 && r.msg[4] === 1 << HITSCAN_BIT);
    assert.ok(rec, "the moving shot was recorded as it left");
    const [mx, my] = [rec.msg[2], rec.msg[3]];
    assert.ok(my > 0.9, `the shot's input moves down: ${mx}, ${my}`);
    const step = 200 / 30; // speed / tick rate
    const unit = (dx, dy) => { const l = Math.hypot(dx, dy); return [dx / l, dy / l]; };
    const after = unit(rec.mouse.x - (rec.pred.x + mx * step), rec.mouse.y - (rec.pred.y + my * step));
    const before = unit(rec.mouse.x - rec.pred.x, rec.mouse.y - rec.pred.y);
    const aim = [rec.msg[5], rec.msg[6]];
    assert.ok(Math.hypot(after[0] - before[0], after[1] - before[1]) > 0.05, "the move changes the aim enough to tell");
    assert.ok(Math.hypot(aim[0] - after[0], aim[1] - after[1]) < 0.01, // the mouse event rounds the point a little
      `aim ${aim} from after the move (${after}), not from before it (${before})`);

    // A scored hitscan: a line from the own avatar to bob, for a moment.
    clearInterval(ticker);
    ticker = null;
    const seen = page.evaluate(() => new Promise((resolve) => {
      const canvas = document.getElementById("view");
      const g = canvas.getContext("2d");
      const dpr = canvas.width / canvas.clientWidth;
      const s = window.skirmish;
      const end = performance.now() + 1000;
      const look = () => {
        const bob = window.skirmishDebug.interpolated().find((x) => x.id === 8);
        const p = window.skirmishDebug.worldToScreen((s.predicted.x + bob.x) / 2, (s.predicted.y + bob.y) / 2);
        const px = g.getImageData(Math.round(p.x * dpr), Math.round(p.y * dpr), 1, 1).data;
        if (px[0] > 150 && px[1] > 140 && px[2] > 80) return resolve([px[0], px[1], px[2]]);
        if (performance.now() > end) return resolve(null);
        requestAnimationFrame(look);
      };
      look();
    }));
    sock.send([3, ++tick, lastSeq, 8, [], [[HITSCAN_EVENT, OWN, BOB]]]);
    const line = await seen;
    assert.ok(line, "no line drawn from the shooter to the target");
    await page.waitForFunction(() => /you hitscan bob/.test(document.getElementById("feed").textContent));

    // The connection drops: while reconnecting (the match and its
    // snapshots still held, no new one coming) frames are not counted,
    // as the Go client counts only while playing.
    const old = sock;
    old.ws.close({ code: 4006, reason: "hello_timeout" });
    await h.waitForHook(page, "reconnecting", (s) => s.state === "reconnecting" || s.state === "connecting");
    const f0 = await h.hook(page);
    await h.sleep(300);
    const f1 = await h.hook(page);
    assert.ok(f1.state !== "playing", `state ${f1.state}`);
    assert.equal(f1.frames, f0.frames, `frames counted out of play (${f0.state} -> ${f1.state})`);
    assert.equal(f1.emptyFrames, f0.emptyFrames, "empty frames counted out of play");
  } finally {
    if (ticker) clearInterval(ticker);
    await h.screenshot(page, NAME);
  }
  // 400: the lobby asks the real server for beam's leaderboard (unknown_mode).
  assert.deepEqual(h.unexpectedErrors(errors, [/status of 404/, /status of 400/]), [], "console errors");
});
