/*
 * Skirmish browser client (protocol version 3, see docs/PROTOCOL.md): the
 * page's entry point. It wires the modules together and boots.
 *
 *   protocol.js   message types and codes, msgpack
 *   state.js      the test hook (window.skirmish), the DOM, the shared match state
 *   mode.js       the mode description, from `matched` alone; the lobby's modes
 *   connection.js session, WebSocket, messages, reconnect/resume, `moved`
 *   mirror.js     snapshots: the view kept from their deltas, acks, events, scores
 *   prediction.js the WebAssembly predictor, reconciliation, the input loop
 *   render.js     the canvas
 *   hud.js        status, HUD, scoreboard, feed, result, lobby and leaderboards
 *   input.js      keyboard, mouse, touch
 *   spectate.js   watching a match read-only: the lobby's list of matches, the follow bar
 *
 * What it does:
 *   1. Lobby: the server's modes (GET /v1/modes; the page knows none) and each
 *      mode's leaderboard (GET /v1/leaderboard?mode=…). Play: POST
 *      /v1/sessions with the chosen name, open /ws?token=… as a binary
 *      WebSocket, send hello [0,3,3], wait for welcome, send queue [1,mode],
 *      wait for matched. `?autoplay=1` starts at once, `?mode=tag` picks the
 *      mode, `?name=…` presets the name.
 *   2. Match: a mirror of the player's view kept from the delta snapshots
 *      (per-view handles: reset, scores, removes, creates, updates, exactly
 *      as netcode/mirror.go), one input per tick ([2,seq,mx,my,buttons,aimX,
 *      aimY], seq +1 each) from WASD/arrows, the mouse or touch (click or
 *      hold for the mode's "fire" action, keys 1..7 for its other declared
 *      actions, respecting their cooldowns) on a
 *      schedule that slides so inputs reach the server just in time
 *      (PROTOCOL.md §11, as client/jit.go), client-side prediction of the
 *      own avatar with the mode's own Go movement code compiled to
 *      WebAssembly (window.skirmish.predictor "wasm"; if it cannot load, the
 *      page says so and predicts in JavaScript: "js"), reconciliation on
 *      every snapshot (drop pending inputs with seq <= ackSeq, replay the
 *      rest on the server position), and interpolation of every other
 *      entity at an adaptive render time (about 2 snapshot intervals + 1.25 × the arrival jitter p95 in the past). A snapshot that does not fit the mirror
 *      (unknown handle, create over a live one) is recorded in
 *      window.skirmish.errors and forces a reconnect (which brings a full
 *      view).
 *   3. Canvas rendering from the mode description's kinds (camera following
 *      the own avatar, world border, grid, team colours, labels with players' names,
 *      minimap), a HUD (ping, tick, score, time left, entities), a status
 *      line, an event feed from the description's events, and a result
 *      panel with the standings.
 *   4. Session resume. An unexpected close (anything but our own 1000, 4001
 *      version or 4003 replaced; 4006 hello_timeout and the others
 *      reconnect), a stalled socket (no frame for 3 s) or the browser going
 *      offline shows "reconnecting" and reconnects with the same token, with
 *      exponential backoff and jitter (250 ms doubling, capped at 5 s; no
 *      attempt while navigator.onLine is false). The new socket's welcome
 *      says where the server has us (`where`, its 5th element; a 4-element
 *      welcome means 0):
 *        2 seated: `matched` follows. For the same match and avatar it
 *          resumes the seat (same seq counter; every kept input above
 *          matched.ackSeq is sent again with its seq, see 7; the next
 *          snapshot is a full view and the input loop goes on from it); error
 *          seat_expired / match_gone instead puts the player back in the
 *          lobby with a message. A timer (RESUME_WAIT_MS) is only a safety
 *          net for a server that says neither.
 *        1 queued: still in the queue (a `queued` follows); not queued again.
 *        0 lobby: the seat or the place in the queue is gone. A lost place is
 *          queued for again at once; a lost seat puts the player in the
 *          lobby with "your seat is gone" (and with ?autoplay=1 in the queue
 *          again). The error seat_expired / match_gone that the server sends
 *          right after such a welcome only makes that message precise: an
 *          error 4/5 acts (lobby, requeue) only while a seat is being
 *          resumed (state "reconnecting", or after a where=2 welcome), so
 *          the welcome and the error never queue twice.
 *      4003 replaced (the game was opened elsewhere with this session) never
 *      reconnects. Players whose seat is held while they are away are shown
 *      dimmed and marked "away".
 *      Reconnection attempts alternate between the current node (where the
 *      last `moved` sent us) and the page's own origin (behind a proxy, the
 *      public entry that reaches any live node).
 *   5. Input seqs never go back within a page's life: the first input is 1,
 *      a resumed seat goes on with the same counter, and a new seat (after a
 *      result, a leave or a lost seat) goes on above both the last seq sent
 *      and matched.ackSeq (the server voids every seq up to it). Only a page
 *      load starts at 0. Aim is sent as (0, 0) or a unit vector.
 *   6. Leave: back to the lobby at once; what the server says about the
 *      leave is settled quietly (not_queued when a leave crossed the match's
 *      end; a queued, matched or result that crossed the leave is ignored
 *      until the next queue).
 *   7. Fleet. `moved` [7, url] (then close 4007 "moved"): the seat, the match
 *      the fleet's queue just seated us in, or the node to use (this one
 *      drains) is at the node whose base URL is url. The page reconnects AT
 *      ONCE (no backoff, no "connection lost", not counted as a disconnect)
 *      with the same token to that node's socket (http→ws, https→wss, path
 *      `<url path>/ws`), shows "moving", and goes on as the welcome there
 *      says (seated: the same seat resumed, or a new match). That node is
 *      the current node from then on (window.skirmish.node; .moved counts
 *      moves). A chain of more than 3 moves with no welcome that settles
 *      anything is slowed down (100 ms doubling up to 1 s), so that two
 *      nodes sending the page to each other never make a tight loop. If the
 *      node cannot be reached, the backoff tries the page's origin next.
 *      Every input sent during the last 3 s is kept, acknowledged or
 *      not: a seat restored from a checkpoint may go back before acks we
 *      had, so on every resume each kept input above matched.ackSeq is sent
 *      again, in `inputs` frames ([5, [[seq,mx,my,buttons,ax,ay], …]], at
 *      most 64 each, seqs increasing) before any new input, never more
 *      unacknowledged at a time than the seat queues (8 in a held seat, 64
 *      in one restored from a checkpoint), and prediction replays them.
 *
 *   8. Spectating. `?spectate=MATCHID` (or a click in the lobby's list of
 *      running matches, GET /v1/matches) watches a match read-only: spectate
 *      [6, matchId, follow], answered by a matched with entity 0 and a 13th
 *      element [delayMs, follow], then snapshots the server's delay behind
 *      live (the HUD's bar says so). The page sends no input; it follows the
 *      whole world (camera fitting the world) or one player (camera on their
 *      avatar): the bar's select, keys 0..9, F for the next. A reconnect
 *      spectates again; the result ends the watch.
 *
 * Test hook: `window.skirmish` is a plain object kept up to date in place
 * (state, ids, the last welcome's `where`, tick, ackSeq, seqs, predicted/
 * server position, score, names, the predictor, the mode description, the
 * lobby's modes and leaderboard, last snapshot, input lead and ack latency,
 * counters…); `window.skirmishDebug` has helpers for tests.
 *
 * Depends only on vendor/msgpack.min.js (global `MessagePack`, a classic
 * script loaded first) and wasm/ (the predictor). ES modules, no build step.
 */

import { hook, el, S, params, AUTOPLAY, SPECTATE, sanitizeName } from "./state.js";
import { fetchModes } from "./mode.js";
import { start, leave, closeByUs, onOnline, onOffline, dropSocket, pageHide, follow } from "./connection.js";
import { initSpectate, showWatchList, watch } from "./spectate.js";
import { render, worldToScreen, screenToWorld, interpolatedEntities } from "./render.js";
import { setState, showModes, showLeaderboard } from "./hud.js";
import { initInput } from "./input.js";

function updatePlayLabel() {
  const opt = el.mode.selectedOptions[0];
  el.play.textContent = `Play ${opt ? opt.dataset.title || opt.value : el.mode.value}`;
  hook.mode = el.mode.value;
}
el.mode.addEventListener("change", () => {
  updatePlayLabel();
  showLeaderboard(el.mode.value);
});
el.play.addEventListener("click", () => start());
el.again.addEventListener("click", () => start());
el.leave.addEventListener("click", () => leave());
window.addEventListener("online", onOnline);
window.addEventListener("offline", onOffline);
hook.online = navigator.onLine !== false;
window.addEventListener("pagehide", pageHide);
initInput();
initSpectate();

// Helpers for automated tests (not used by the page itself).
window.skirmishDebug = {
  /**
   * Closes the socket abruptly from the page (code 4999, not a goodbye): the
   * page treats it as a dropped connection and reconnects.
   */
  dropSocket,
  /** Screen position (CSS pixels, viewport) of a world point, with the camera of the last frame. */
  worldToScreen(x, y) {
    return worldToScreen(x, y);
  },
  /** World position of a screen point (CSS pixels). */
  screenToWorld(x, y) {
    return screenToWorld(x, y);
  },
  /**
   * Forgets the mirror's entities (keeping the id index), as if the client
   * had lost track: the next update or remove then forces a resync.
   */
  forgetView() {
    S.ents = [];
  },
  /** Other entities as drawn now (at the render time: about two snapshot intervals plus the arrival jitter in the past). */
  interpolated() {
    return interpolatedEntities(performance.now());
  },
  /**
   * What the Leave button does, in any state (e.g. again in the lobby, as
   * a leave that crossed the end of a match: the server says not_queued).
   */
  leave,
  /** Closes the socket on purpose (no reconnection). */
  close() {
    closeByUs(1000, "bye");
  },
  start,
  /** Shows mode's leaderboard in the lobby (what a click on its tab does). */
  showLeaderboard,
  /** Watches match id (what a click in the lobby's list does), following avatar entity followId (0: the world). */
  watch,
  /** While spectating: follows avatar entity id (0: the whole world), as the bar's select does. */
  follow,
  /** Reloads the lobby's list of running matches. */
  showWatchList,
};

// ---------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------

const wanted = params.get("mode") || "";
const name = params.get("name");
if (name) el.name.value = sanitizeName(name);
el.play.disabled = true;
setState("lobby", "lobby: loading the modes…");
requestAnimationFrame(render);

// The modes are the server's (GET /v1/modes): the page knows none of its
// own. Autoplay starts once they are known (or with ?mode=… if they fail).
fetchModes().then(({ modes, error }) => {
  showModes(modes, error, wanted || (modes.length ? modes[0].name : ""));
  updatePlayLabel();
  el.play.disabled = !el.mode.value;
  if (el.mode.value) showLeaderboard(el.mode.value);
  if (hook.state === "lobby") setState("lobby", "lobby: choose a name and press Play");
  if (SPECTATE) watch(SPECTATE);
  else if (AUTOPLAY) start();
});
showWatchList();
