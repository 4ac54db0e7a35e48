// A second connection with the same session token takes over: the first
// page is closed with 4003 replaced, says so, and never reconnects (it
// would take the seat back, and so on).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as h from "../lib/harness.mjs";

const NAME = "08-replaced";
const REPLACED = "This game was opened in another tab or window — not reconnecting";
after(h.cleanup);

test("a page replaced by another connection of its session does not reconnect", async (t) => {
  const server = await h.startServer({ name: NAME });
  const { page, context, errors } = await h.launchBrowser({ name: NAME });
  try {
    const session = page.waitForResponse((r) => r.url().endsWith("/v1/sessions") && r.request().method() === "POST");
    await h.openClient(page, server);
    const { token } = await (await session).json();
    assert.match(token, /^[A-Za-z0-9_-]{22}$/);
    await h.waitForHook(page, "a match with a first snapshot", (s) => s.state === "playing" && s.snapshots > 2,
      { timeout: 15000 });
    const before = await h.hook(page);

    // Another tab of the same browser connects with the page's token and
    // says hello: it takes the session over.
    const other = await context.newPage();
    await other.goto(`${server.url}/?name=other`);
    const welcome = await other.evaluate((token) => new Promise((res, rej) => {
      const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => ws.send(new Uint8Array([0x93, 0x00, 0x03, 0x03])); // hello [0,3,3]
      ws.onmessage = (ev) => { window.__takeover = ws; res(Array.from(new Uint8Array(ev.data).slice(0, 2))); };
      ws.onclose = (ev) => rej(new Error(`takeover socket closed: ${ev.code}`));
      setTimeout(() => rej(new Error("no welcome")), 5000);
    }), token);
    assert.deepEqual(welcome.slice(1), [0x00], "the takeover socket got welcome");

    await h.waitForHook(page, "the replaced notice", (s) => s.closeCode === 4003 && s.notice !== "", { timeout: 5000 });
    const mid = await h.hook(page);
    assert.equal(mid.notice, REPLACED);
    assert.equal(mid.state, "lobby");
    // And it stays there: no reconnection attempt within 2 s.
    await h.sleep(2000);
    const end = await h.hook(page);
    assert.equal(end.state, "lobby");
    assert.equal(end.reconnectAttempts, before.reconnectAttempts, "no reconnection attempt");
    assert.equal(end.reconnects, before.reconnects);
    assert.match(await page.textContent("#status"), /another tab/);
    assert.ok(await other.evaluate(() => window.__takeover.readyState === WebSocket.OPEN), "the takeover socket is still open");
    t.diagnostic(`closed with ${end.closeCode} ${end.closeReason}`);
  } finally {
    await h.screenshot(page, NAME);
  }
  assert.deepEqual(h.unexpectedErrors(errors), [], "console errors");
});
