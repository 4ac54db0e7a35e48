// The server crashes (SIGKILL) in the middle of a match and comes back on
// the same address. The page says the match is gone and, with autoplay,
// plays a new match: without a session store the old token is unknown (the
// page gets a new session); with Redis the session survives and the server
// answers match_gone.
//
// While the server is down, Chromium logs every failed WebSocket attempt
// (and the page's /healthz probe) as a console error: those, and only
// those, are allowed here.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as h from "../lib/harness.mjs";

const NAME = "06-restart";
const MATCH_GONE = "The match is gone (server restarted)";
const SERVER_DOWN_ERRORS = [
  /WebSocket connection to '.*' failed/,
  /Failed to load resource: net::ERR_CONNECTION_REFUSED/,
  /Failed to load resource: the server responded with a status of 401/,
];
after(h.cleanup);

async function crashAndRestart(t, name, args) {
  const first = await h.startServer({ name, args });
  const { page, errors } = await h.launchBrowser({ name });
  try {
    await h.openClient(page, first);
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const before = await h.hook(page);

    await first.stop("SIGKILL");
    await h.waitForHook(page, "reconnecting after the crash", (s) => s.state === "reconnecting", { timeout: 5000 });
    const dropped = await h.hook(page); // the input loop stopped with the connection
    assert.match(await page.textContent("#status"), /reconnecting/i);
    await h.sleep(500);
    await h.startServer({ name, args, port: first.port });

    // With Redis the welcome (where 0) comes first and says the seat is
    // gone; the match_gone right after it makes the message precise.
    await h.waitForHook(page, "the match-gone notice", (s, text) => s.notice === text,
      { timeout: 15000, arg: MATCH_GONE });
    const mid = await h.hook(page);
    assert.equal(mid.where, 0, "the welcome after the restart said: in the lobby");
    assert.match(await page.textContent("#error"), /match is gone/);
    assert.ok(await page.isVisible("#error"), "the message is shown");
    await h.waitForHook(page, "a new match and its first input",
      (s, id) => s.state === "playing" && s.matchId !== id && s.snapshots > 0 && s.seatFirstSeq !== null,
      { timeout: 15000, arg: before.matchId });
    const end = await h.hook(page);
    assert.equal(end.resumed, 0, "nothing to resume");
    assert.ok(!end.errors.some((e) => e.code === 2), `queued only once: ${JSON.stringify(end.errors)}`);
    // Seqs never go back within the page's life: the new seat's first
    // input is above the last one sent in the old match.
    assert.ok(end.seatFirstSeq > dropped.lastSeq,
      `first seq of the new seat ${end.seatFirstSeq} above the old match's last ${dropped.lastSeq}`);
    t.diagnostic(`player ${before.playerId} -> ${end.playerId}, match ${before.matchId} -> ${end.matchId}, ` +
      `reconnect attempts ${end.reconnectAttempts}`);
    return { before, end };
  } finally {
    await h.screenshot(page, name);
    const unexpected = h.unexpectedErrors(errors, SERVER_DOWN_ERRORS);
    assert.deepEqual(unexpected, [], "console errors other than failed connections to the stopped server");
  }
}

test("after a crash and restart without a store: new session, new match", async (t) => {
  const { before, end } = await crashAndRestart(t, `${NAME}-memory`, []);
  assert.notEqual(end.playerId, before.playerId, "a new guest session");
});

function redisServer() {
  for (const p of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) if (existsSync(p)) return p;
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

// run.sh installs redis-server when it is missing: without it this test
// fails rather than checking nothing.
test("after a crash and restart with Redis: the session survives, match_gone", async (t) => {
  assert.ok(redisServer(), "redis-server is not installed (run.sh installs it as root)");
  const port = await h.freePort();
  const dir = mkdtempSync(join(tmpdir(), "skirmish-e2e-redis-"));
  const redis = h.startProcess(redisServer(), ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    `${NAME}-redis.redis.log`);
  try {
    await h.waitForPort(port);
    const { before, end } = await crashAndRestart(t, `${NAME}-redis`, ["-redis", `127.0.0.1:${port}`]);
    assert.equal(end.playerId, before.playerId, "the same guest session");
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
