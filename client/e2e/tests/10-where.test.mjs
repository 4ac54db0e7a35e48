// What the page does with welcome's `where` (0 lobby, 1 queued, 2 seated)
// after a reconnect, with a scripted server: the real server serves the page
// and the session, and Playwright's routeWebSocket plays the game socket, so
// that every answer the real server gives only in a race can be given on
// purpose. Checked: a close with 4006 hello_timeout reconnects; where=2 then
// seat_expired puts the page in the lobby and queues once; where=1 is
// still queued (no queue sent); where=0 then match_gone queues once (the
// error only makes the message precise, and a stray one later is ignored);
// a new seat's inputs go on above both the last seq sent and matched's
// ackSeq; every aim sent is (0, 0) or a unit vector; and what crosses a leave
// (result, not_queued, matched) is taken quietly.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as h from "../lib/harness.mjs";

const require = createRequire(import.meta.url);
const { encode, decode } = require("../../../web/static/vendor/msgpack.min.js");

const NAME = "10-where";
const SEAT_EXPIRED = "Your seat expired — back in the lobby";
const MATCH_GONE = "The match is gone (server restarted)";
after(h.cleanup);

const SCHEMA = [1, [["player", "circle", "#4fc3f7", 16, -2, -1], ["npc", "diamond", "#ffb74d", 14, -1, -1],
  ["projectile", "circle", "#ffffff", 4, -1, -1]], [["hp", 1]]];
// The arena's declaration (protocol version 3): speed, radii, the fire action, events, no teams, dead at hp 0.
const INFO = [200, 16, 500, [[0, "fire", 8, true]], [[1, "hit", "player", "entity"], [2, "kill", "player", "player"],
  [3, "respawn", "player", ""]], [], [0, -3.4e38, 0]];
const matched = (id, entity, tick, ackSeq) => [2, id, "arena", entity, 30, 2000, 2000, SCHEMA, tick, tick + 9000, ackSeq, INFO];
// A full view holding only the own avatar at (1000, 1000).
const fullView = (tick, ackSeq, entity) =>
  [3, tick, ackSeq, 49, [], [[entity, 0, false]], [[0, entity, 0, 1000, 1000, 100]]];

/** Waits until fn() is truthy (polling), or fails naming what. */
async function until(what, fn, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await h.sleep(20);
  }
}

test("welcome's where after a reconnect; seqs never go back; quiet leave", async (t) => {
  const server = await h.startServer({ name: NAME });
  const { page, errors } = await h.launchBrowser({ name: NAME });
  // Every game socket the page opens, with what it received from the page.
  const socks = [];
  await page.routeWebSocket((url) => url.pathname === "/ws", (ws) => {
    const sock = {
      ws,
      got: [],
      send: (msg) => ws.send(Buffer.from(encode(msg))),
      of: (type) => sock.got.filter((m) => m[0] === type),
    };
    socks.push(sock);
    ws.onMessage((data) => {
      const msg = decode(typeof data === "string" ? Buffer.from(data) : data);
      sock.got.push(msg);
      if (msg[0] === 3) sock.send([5, msg[1], Date.now()]); // ping: pong (keeps the stall watchdog quiet)
    });
  });
  const socket = (n) => until(`socket ${n} and its hello`, () => socks[n - 1] && socks[n - 1].of(0).length === 1 && socks[n - 1]);
  const welcome = (sock, where) => sock.send([0, 3, "p-mock", "e2e", where]);
  const inputs = () => socks.flatMap((s) => s.of(2));
  const maxSeq = () => Math.max(0, ...inputs().map((m) => m[1]));

  try {
    await h.openClient(page, server);

    // 1. A first connection: lobby, queue, a match, some inputs (and a shot).
    const s1 = await socket(1);
    welcome(s1, 0);
    await until("the first queue", () => s1.of(1).length === 1);
    s1.send([1, "arena"]);
    s1.send(matched("m-1", 5, 100, 0));
    s1.send(fullView(100, 0, 5));
    await h.waitForHook(page, "playing m-1", (s) => s.state === "playing" && s.matchId === "m-1" && s.seatFirstSeq === 1);
    await page.mouse.click(900, 250);
    await until("a few inputs and a shot", () => inputs().length >= 5 && inputs().some((m) => m[4] & 1));
    s1.send([3, 101, 2, 0, []]);
    const h1 = await h.hook(page);
    assert.equal(h1.where, 0);

    // 2. Closed with 4006 hello_timeout: reconnect. The welcome says seated,
    // then seat_expired: the lobby, and (autoplay) one queue.
    s1.ws.close({ code: 4006, reason: "hello_timeout" });
    await h.waitForHook(page, "reconnecting after 4006", (s) => s.state === "reconnecting" && s.closeCode === 4006);
    const seqBefore2 = maxSeq();
    const s2 = await socket(2);
    welcome(s2, 2);
    s2.send([6, 4, "seat_expired"]);
    await h.waitForHook(page, "the seat-expired notice", (s, text) => s.notice === text, { arg: SEAT_EXPIRED });
    await h.sleep(500);
    assert.equal(s2.of(1).length, 1, "one queue after seat_expired");
    assert.equal((await h.hook(page)).where, 2);
    assert.match(await page.textContent("#error"), /seat expired/);
    s2.send([1, "arena"]);
    await h.waitForHook(page, "queued again", (s) => s.state === "queued");
    assert.equal(maxSeq(), seqBefore2, "no input after the seat was lost");

    // 3. Dropped while queued; the welcome says still queued: no queue sent.
    s2.ws.close({ code: 4005, reason: "internal" });
    await h.waitForHook(page, "reconnecting from the queue", (s) => s.state === "reconnecting");
    const s3 = await socket(3);
    welcome(s3, 1);
    s3.send([1, "arena"]);
    await h.waitForHook(page, "queued (where 1)", (s) => s.state === "queued" && s.where === 1);
    await h.sleep(500);
    assert.equal(s3.of(1).length, 0, "where=1: no queue sent");
    assert.equal((await h.hook(page)).state, "queued");

    // A new seat whose ackSeq is above every seq the page sent: the inputs
    // go on above ackSeq.
    const high = maxSeq() + 50;
    s3.send(matched("m-2", 7, 200, high));
    s3.send(fullView(200, high, 7));
    await until("an input of m-2", () => s3.of(2).length > 0);
    assert.equal(s3.of(2)[0][1], high + 1, "first seq of a new seat above matched.ackSeq");
    assert.equal((await h.hook(page)).seatFirstSeq, high + 1);
    await until("a few inputs of m-2", () => s3.of(2).length >= 3);

    // 4. Dropped while playing; the welcome says lobby, then match_gone:
    // one queue, the message made precise; a stray error later is ignored.
    s3.ws.close({ code: 1001, reason: "shutdown" });
    await h.waitForHook(page, "reconnecting from m-2", (s) => s.state === "reconnecting");
    const seqBefore4 = maxSeq();
    const s4 = await socket(4);
    welcome(s4, 0);
    s4.send([6, 5, "match_gone"]);
    await h.waitForHook(page, "the match-gone notice", (s, text) => s.notice === text, { arg: MATCH_GONE });
    s4.send([6, 4, "seat_expired"]); // stale: about nothing we have
    await h.sleep(500);
    assert.equal(s4.of(1).length, 1, "one queue after where=0 and match_gone");
    const h4 = await h.hook(page);
    assert.equal(h4.notice, MATCH_GONE, "a stray seat_expired changes nothing");
    assert.equal(h4.state, "connecting", "waiting for queued");
    assert.match(await page.textContent("#error"), /match is gone/);

    // A new seat whose ackSeq is 0 (a fresh player on the server): the
    // inputs go on above the last seq sent.
    s4.send([1, "arena"]);
    s4.send(matched("m-3", 9, 300, 0));
    s4.send(fullView(300, 0, 9));
    await until("an input of m-3", () => s4.of(2).length > 0);
    assert.equal(s4.of(2)[0][1], seqBefore4 + 1, "first seq of a new seat above the last one sent");

    // 5. Leave while playing; the match's result, a not_queued (the leave
    // crossed the end) and a late matched are all taken quietly.
    await page.click("#leave");
    await until("the leave", () => s4.of(4).length === 1);
    s4.send([4, 0, [["p-mock", "e2e", 9, 0, 1]]]);
    s4.send([6, 3, "not_queued"]);
    s4.send(matched("m-4", 11, 400, 0));
    await h.waitForHook(page, "not_queued recorded", (s) => s.errors.some((e) => e.code === 3));
    await h.sleep(300);
    const h5 = await h.hook(page);
    assert.equal(h5.state, "lobby", "still in the lobby");
    assert.equal(h5.status, "left: lobby");
    assert.equal(h5.matchId, "m-3", "the late matched was ignored");
    // (The match-gone message of step 4 may still be up for its 8 s.)
    assert.doesNotMatch(await page.textContent("#error"), /not_queued/, "not_queued not shown");
    assert.ok(!(await page.isVisible("#result")), "no result panel for a match we left");

    // Every aim sent: (0, 0) or a unit vector.
    for (const m of inputs()) {
      const len = Math.hypot(m[5], m[6]);
      assert.ok(len === 0 || Math.abs(len - 1) < 1e-9, `aim (${m[5]}, ${m[6]}) of seq ${m[1]}`);
    }
    // Seqs never went back.
    const seqs = inputs().map((m) => m[1]);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `seq ${seqs[i]} after ${seqs[i - 1]}`);
    t.diagnostic(`${socks.length} sockets, ${seqs.length} inputs, seqs ${seqs[0]}..${seqs[seqs.length - 1]}, ` +
      `shots ${inputs().filter((m) => m[4] & 1).length}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
