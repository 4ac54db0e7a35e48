// A fleet of two nodes on a real redis-server. The page plays on node A
// (its page origin); node B joins the fleet; node A gets SIGTERM and
// drains: it hands the match to B and sends the page `moved` (then closes
// with 4007). The page reconnects at once to B, resumes the same seat
// (same match, same avatar), sends again the inputs the handoff may have
// lost, and goes on playing there: no "connection lost", no disconnect, no
// console error, no input lost (the server ends where the prediction
// does), and node A exits 0.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "11-drain";
const SPEED = 200; // arena, u/s
after(h.cleanup);

/** Waits for a child's exit, at most ms; null if it is still running then. */
function exitWithin(child, ms) {
  return Promise.race([child.exited, h.sleep(ms).then(() => null)]);
}

test("node A drains: the page goes on playing on node B with the same seat", async (t) => {
  assert.ok(h.redisServerBin(), "redis-server is not installed (run.sh installs it as root)");
  const redis = await h.startRedis({ name: NAME });
  // Alone in the fleet, node A hosts every match its players queue for.
  const a = await h.startNode({ name: NAME, redis, id: "nA" });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  try {
    await h.openClient(page, a);
    // Every state and status the page goes through from here on, and every
    // time the error box shows.
    await page.evaluate(() => {
      const s = window.skirmish;
      const trace = [];
      window.__trace = trace;
      for (const key of ["state", "status"]) {
        let v = s[key];
        Object.defineProperty(s, key, {
          enumerable: true,
          configurable: true,
          get: () => v,
          set: (x) => { v = x; trace.push([Math.round(performance.now()), key, x]); },
        });
      }
      const box = document.getElementById("error");
      new MutationObserver(() => {
        if (!box.classList.contains("hidden")) trace.push([Math.round(performance.now()), "error", box.textContent]);
      }).observe(box, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await h.waitForHook(page, "the page to queue", (s) => s.state === "queued" || s.state === "playing");
    h.startBots(a.url, { name: NAME, n: 3, duration: "60s", behavior: "wander", extra: ["-ramp", "100ms"] });
    await h.waitForHook(page, "a match on node A with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const onA = await h.hook(page);
    assert.equal(onA.node, a.url, "the page plays on node A, its origin");
    assert.equal(onA.moved, 0);

    // Node B joins the fleet: from now on A has somewhere to drain to.
    const b = await h.startNode({ name: NAME, redis, id: "nB" });
    await h.waitForFleet(a.url, ["nA", "nB"]);
    await h.waitForFleet(b.url, ["nA", "nB"]);

    // Move through the drain: inputs in flight while the match changes
    // hosts must all be applied once, on B.
    const before = await h.hook(page);
    const goRight = before.predicted.x < before.worldW / 2;
    const key = goRight ? "d" : "a";
    const sign = goRight ? 1 : -1;
    await page.mouse.move(5, 400); // away from everything; no click
    await page.keyboard.down(key);
    await h.sleep(400);
    const atTerm = await h.hook(page);
    assert.ok(sign * (atTerm.predicted.x - before.predicted.x) > 40,
      `the avatar moves on A (${before.predicted.x} -> ${atTerm.predicted.x})`);
    await page.evaluate(() => window.__trace.push([Math.round(performance.now()), "sigterm", ""]));
    const termAt = Date.now();
    a.child.proc.kill("SIGTERM");

    await h.waitForHook(page, "the seat resumed on node B",
      (s, arg) => s.node === arg.b && s.state === "playing" && s.resumed > arg.resumed && s.snapshots > 0,
      { timeout: 10000, arg: { b: b.url, resumed: before.resumed } });
    const resumedMs = Date.now() - termAt;
    const onB = await h.hook(page);

    // Still holding the key: the avatar moves on B, and the server agrees.
    await h.sleep(600);
    const moving = await h.hook(page);
    await page.keyboard.up(key);
    assert.ok(sign * (moving.predicted.x - onB.predicted.x) > 60,
      `the avatar moves after the drain (predicted x ${onB.predicted.x} -> ${moving.predicted.x})`);
    assert.ok(sign * (moving.server.x - onB.server.x) > 40,
      `the server moves the avatar after the drain (server x ${onB.server.x} -> ${moving.server.x})`);

    // Every input, those sent again after the move included, applied once
    // and in order: the server ends where the prediction does.
    await h.waitForHook(page, "every input acknowledged", (s) => s.pendingInputs <= 1 && s.ackSeq >= s.lastSeq - 1);
    await h.sleep(300);
    const end = await h.hook(page);
    t.diagnostic(`SIGTERM to resumed on B: ${resumedMs} ms (page: moved to resumed ${end.lastMoveMs} ms); ` +
      `${end.resends} inputs sent again in ${end.resendFrames} frames (seqs ${JSON.stringify(end.lastResendFrom)}); ` +
      `x ${before.predicted.x.toFixed(1)} -> ${end.server.x.toFixed(1)}`);

    assert.equal(end.node, b.url, "the current node is B");
    assert.equal(end.matchId, before.matchId, "same match");
    assert.equal(end.entityId, before.entityId, "same avatar");
    assert.equal(end.state, "playing");
    assert.equal(end.where, 2, "B's welcome said: seated");
    assert.equal(end.moved, before.moved + 1, "one move followed");
    assert.equal(end.resumed, before.resumed + 1, "resumed once");
    assert.equal(end.disconnects, before.disconnects, "a move is no disconnect");
    assert.equal(end.reconnects, before.reconnects, "a move is no reconnection after a drop");
    assert.deepEqual(end.errors, [], "no error recorded by the page");
    assert.equal(end.closeCode, 4007, "A closed with 4007 moved");
    assert.ok(Math.abs(end.server.x - end.predicted.x) < 1 && Math.abs(end.server.y - end.predicted.y) < 1,
      `server (${end.server.x}, ${end.server.y}) vs predicted (${end.predicted.x}, ${end.predicted.y})`);
    assert.equal(end.rejects, 0, `rejected inputs (3 dropped, 5 missing): ${JSON.stringify(end.rejectsByCode)}`);
    assert.ok(sign * (end.server.x - before.predicted.x) > SPEED * 0.6,
      `moved ${(end.server.x - before.predicted.x).toFixed(1)} u in all`);
    assert.ok(end.seatFirstSeq === before.seatFirstSeq, "the same seat's first seq");
    assert.ok(end.lastSeq > atTerm.lastSeq, "seqs went on");

    // What the player saw: no "connection lost", no reconnecting, no error box.
    const trace = await page.evaluate(() => window.__trace);
    const since = trace.slice(trace.findIndex((e) => e[1] === "sigterm") + 1);
    t.diagnostic(`after SIGTERM: ${JSON.stringify(since.filter((e) => e[1] === "state").map((e) => e[2]))}`);
    const bad = since.filter(([, k, v]) => k === "error" ||
      (k === "state" && !["playing", "moving"].includes(v)) ||
      (k === "status" && /lost|reconnect|disconnect|closed|lobby/i.test(v)));
    assert.deepEqual(bad, [], "nothing but moving and playing after SIGTERM");
    assert.ok(!(await page.isVisible("#error")), "no error shown");
    assert.match(await page.textContent("#status"), /in match/);
    assert.equal(await page.textContent("#hud-net"), "connected");

    // Node A has drained and exits 0 (within its -shutdown-timeout).
    const exit = await exitWithin(a.child, 15000);
    assert.ok(exit, `node A still runs ${Date.now() - termAt} ms after SIGTERM`);
    assert.deepEqual(exit, { code: 0, signal: null }, `node A's exit\n${a.child.tail}`);
    t.diagnostic(`node A exited ${Date.now() - termAt} ms after SIGTERM`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});

// The same moves with a scripted server (Playwright routeWebSocket; the
// real server serves the page), to check what a real drain may not show:
// a node URL with a path prefix, a resume whose matched.ackSeq went back
// (a seat restored from a checkpoint: every kept input above it is sent
// again, in `inputs` frames of at most 64, before any new input), a held
// seat's resume (at most 8 sent again and unacknowledged at a time), and
// reconnection attempts after a drop alternating between the current node
// and the page's origin.
test("moved with a scripted server: path prefix, resends after a restore, alternating reconnects", async (t) => {
  const { createRequire } = await import("node:module");
  const { encode, decode } = createRequire(import.meta.url)("../../../web/static/vendor/msgpack.min.js");
  const name = `${NAME}-scripted`;
  const NODE_B = "http://127.0.0.1:9/n/nB"; // never reached: the route answers
  const SCHEMA = [1, [["player", "circle", "#4fc3f7", 16, -2, -1], ["npc", "diamond", "#ffb74d", 14, -1, -1],
    ["projectile", "circle", "#ffffff", 4, -1, -1]], [["hp", 1]]];
  // The arena's declaration (protocol version 3): speed, radii, the fire action, events, no teams, dead at hp 0.
  const INFO = [200, 16, 500, [[0, "fire", 8, true]], [[1, "hit", "player", "entity"], [2, "kill", "player", "player"],
    [3, "respawn", "player", ""]], [], [0, -3.4e38, 0]];
  const matched = (entity, tick, ackSeq) => [2, "m-1", "arena", entity, 30, 2000, 2000, SCHEMA, tick, tick + 9000, ackSeq, INFO];
  const fullView = (tick, ackSeq) => [3, tick, ackSeq, 49, [], [[5, 0, false]], [[0, 5, 0, 1000, 1000, 100]]];
  const ack = (tick, ackSeq) => [3, tick, ackSeq, 0, []];
  const until = async (what, fn, timeout = 5000) => {
    const end = Date.now() + timeout;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
      await h.sleep(20);
    }
  };

  const server = await h.startServer({ name });
  const { page, errors } = await h.launchBrowser({ name });
  const socks = [];
  await page.routeWebSocket((url) => url.pathname.endsWith("/ws"), (ws) => {
    const sock = {
      ws, url: ws.url(), got: [], tick: 1000, ackUpTo: 0,
      send: (msg) => ws.send(Buffer.from(encode(msg))),
      of: (type) => sock.got.filter((m) => m[0] === type),
      // every input received, from input and inputs frames, in order
      inputs: () => sock.got.flatMap((m) => (m[0] === 2 ? [m.slice(1)] : m[0] === 5 ? m[1] : [])),
    };
    socks.push(sock);
    ws.onMessage((data) => {
      const msg = decode(data);
      sock.got.push(msg);
      if (msg[0] === 3) sock.send([5, msg[1], Date.now()]);
      // acknowledge new inputs up to ackUpTo at once
      if (msg[0] === 2 && msg[1] <= sock.ackUpTo) sock.send(ack(sock.tick++, msg[1]));
    });
  });
  const socket = (n) => until(`socket ${n} and its hello`, () => socks[n - 1] && socks[n - 1].of(0).length === 1 && socks[n - 1]);
  const seqs = (frames) => frames.flatMap((m) => m[1].map((i) => i[0]));

  try {
    await h.openClient(page, server);
    const s1 = await socket(1);
    s1.send([0, 3, "p-mock", "e2e", 0]);
    await until("the queue", () => s1.of(1).length === 1);
    s1.send([1, "arena"]);
    s1.send(matched(5, 100, 0));
    s1.send(fullView(100, 0));
    await h.waitForHook(page, "playing m-1", (s) => s.state === "playing" && s.seatFirstSeq === 1);
    s1.ackUpTo = 66;
    await page.keyboard.down("d");
    await until("75 inputs", () => s1.of(2).length >= 75, 10000);
    await h.waitForHook(page, "ack 66", (s) => s.ackSeq === 66);

    // moved to node B (with a path prefix), then 4007: at once, B's socket.
    s1.send([7, NODE_B]);
    s1.ws.close({ code: 4007, reason: "moved" });
    const movedAt = Date.now();
    const s2 = await socket(2);
    t.diagnostic(`B's socket after ${Date.now() - movedAt} ms: ${s2.url.replace(/token=.*/, "token=…")}`);
    assert.match(s2.url, /^ws:\/\/127\.0\.0\.1:9\/n\/nB\/ws\?token=[\w-]+$/);
    const moving = await h.hook(page);
    assert.equal(moving.state, "moving");
    assert.equal(moving.node, NODE_B);
    assert.equal(moving.moved, 1);
    assert.equal(moving.disconnects, 0);
    const lastOnA = moving.lastSeq;
    assert.equal(Math.max(...s1.inputs().map((i) => i[0])), lastOnA, "no input after moved");

    // B restored the seat from a checkpoint that applied seq 5 only.
    s2.send([0, 3, "p-mock", "e2e", 2]);
    s2.send(matched(5, 120, 5));
    await until("the first inputs frame", () => s2.of(5).length >= 1);
    await h.sleep(200);
    assert.equal(s2.of(2).length, 0, "no new input before the resends are done");
    assert.equal(s2.of(5).length, 1, "one frame until acks make room");
    const first = Math.max(6, lastOnA - moving.historyInputs + 1);
    assert.deepEqual(seqs(s2.of(5)), Array.from({ length: 64 }, (_, i) => first + i), "64 kept inputs above ackSeq 5");
    s2.send(fullView(120, 5));
    s2.send(ack(121, first + 40));
    await until("the rest of the resends", () => seqs(s2.of(5)).at(-1) === lastOnA);
    const resent = seqs(s2.of(5));
    assert.deepEqual(resent, Array.from({ length: lastOnA - first + 1 }, (_, i) => first + i),
      "every kept input above ackSeq, once, in order");
    for (const f of s2.of(5)) assert.ok(f[1].length >= 1 && f[1].length <= 64, `${f[1].length} inputs in a frame`);
    // Resent inputs are what was sent: same moves.
    const sentOnA = new Map(s1.inputs().map((i) => [i[0], JSON.stringify(i)]));
    for (const i of s2.inputs()) assert.equal(JSON.stringify(i), sentOnA.get(i[0]), `input ${i[0]} sent again as it was`);
    s2.send(ack(122, lastOnA));
    s2.ackUpTo = 1e9;
    await until("new inputs on B", () => s2.of(2).length >= 3);
    assert.equal(s2.of(2)[0][1], lastOnA + 1, "new inputs go on after the last seq sent");
    const onB = await h.hook(page);
    assert.equal(onB.state, "playing");
    assert.equal(onB.resumed, 1);
    assert.equal(onB.reconnects, 0, "a move is no reconnection");
    assert.equal(onB.disconnects, 0);
    t.diagnostic(`${resent.length} inputs sent again in ${s2.of(5).length} frames, moved to resumed ${onB.lastMoveMs} ms`);

    // Some inputs left unacknowledged, then an ordinary drop: attempts go
    // to B, then to the page's origin.
    s2.ackUpTo = 0;
    await h.sleep(600);
    s2.ws.close({ code: 1001, reason: "shutdown" });
    await h.waitForHook(page, "reconnecting", (s) => s.state === "reconnecting");
    const held = await h.hook(page);
    assert.ok(held.pendingInputs > 8, `${held.pendingInputs} inputs pending`);
    const s3 = await socket(3);
    assert.match(s3.url, /^ws:\/\/127\.0\.0\.1:9\/n\/nB\/ws\?/, "the first attempt goes to the current node");
    s3.ws.close({ code: 1001, reason: "shutdown" });
    const s4 = await socket(4);
    assert.ok(s4.url.startsWith(`${server.url.replace(/^http/, "ws")}/ws?`), `then the page's origin: ${s4.url}`);
    // A held seat: at most 8 sent again and unacknowledged at a time.
    s4.send([0, 3, "p-mock", "e2e", 2]);
    s4.send(matched(5, 200, held.ackSeq));
    await until("the resends", () => s4.of(5).length >= 1);
    await h.sleep(200);
    assert.deepEqual(seqs(s4.of(5)), Array.from({ length: 8 }, (_, i) => held.ackSeq + 1 + i), "8 inputs sent again");
    s4.send(fullView(200, held.ackSeq));
    s4.send(ack(201, held.ackSeq + 8));
    await until("the rest", () => seqs(s4.of(5)).at(-1) === held.lastSeq);
    s4.ackUpTo = 1e9;
    s4.send(ack(202, held.lastSeq));
    await until("new inputs", () => s4.of(2).length >= 1);
    assert.equal(s4.of(2)[0][1], held.lastSeq + 1);
    await page.keyboard.up("d");
    const end = await h.hook(page);
    assert.equal(end.node, server.url, "the origin is the current node now");
    assert.equal(end.reconnects, 1);
    assert.equal(end.disconnects, 1);
    assert.equal(end.moved, 1);
    assert.deepEqual(end.errors, []);
  } finally {
    await h.screenshot(page, name);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
