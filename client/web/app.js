/*
 * Skirmish browser client (protocol version 3, see docs/PROTOCOL.md).
 *
 * What it does:
 *   1. Lobby: POST /v1/sessions with the chosen name, open /ws?token=… as a
 *      binary WebSocket, send hello [0,3,3], wait for welcome, send queue
 *      [1,mode], wait for matched. `?autoplay=1` starts at once, `?mode=tag`
 *      picks the mode, `?name=…` presets the name.
 *   2. Match: a mirror of the player's view kept from the delta snapshots
 *      (per-view handles: reset, scores, removes, creates, updates, exactly as
 *      netcode/mirror.go), one input per tick ([2,seq,mx,my,buttons,aimX,aimY],
 *      seq +1 each) from WASD/arrows and the mouse (click or hold to fire,
 *      respecting the fire cooldown) on a schedule that slides so inputs reach
 *      the server just in time (PROTOCOL.md §11, as client/jit.go), client-side
 *      prediction of the own avatar with the server's movement rule,
 *      reconciliation on every snapshot (drop pending inputs with seq <=
 *      ackSeq, replay the rest on the server position), and interpolation of
 *      every other entity ~100 ms in the past. A snapshot that does not fit
 *      the mirror (unknown handle, create over a live one) is recorded in
 *      window.skirmish.errors and forces a reconnect (which brings a full view).
 *   3. Canvas rendering (camera following the own avatar, world border, grid,
 *      hp bars, minimap), a HUD (ping, tick, score, time left, entities), a
 *      status line, an event feed, and a result panel with the standings.
 *   4. Session resume. An unexpected close (anything but our own 1000, 4001
 *      version or 4003 replaced; 4006 hello_timeout and the others reconnect),
 *      a stalled socket (no frame for 3 s) or the browser going offline
 *      shows "reconnecting" and reconnects with the same token, with
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
 * Test hook: `window.skirmish` is a plain object kept up to date in place
 * (state, ids, the last welcome's `where`, tick, ackSeq, seqs, predicted/
 * server position, score, last snapshot, input lead and ack latency,
 * counters…); `window.skirmishDebug` has helpers for tests.
 *
 * Depends only on vendor/msgpack.min.js (global `MessagePack`). Plain ES2020,
 * classic script, no build step.
 */
(() => {
  "use strict";

  const { encode, decode } = window.MessagePack;

  // ---------------------------------------------------------------------------
  // Protocol constants
  // ---------------------------------------------------------------------------

  // Version 3: matched declares the mode (PROTOCOL.md §5: kinds with render
  // hints, speed, actions with cooldowns); snapshots as in version 2.
  const PROTO_MIN = 3;
  const PROTO_MAX = 3;

  // client → server
  const C_HELLO = 0, C_QUEUE = 1, C_INPUT = 2, C_PING = 3, C_LEAVE = 4, C_INPUTS = 5;
  // server → client
  const S_WELCOME = 0, S_QUEUED = 1, S_MATCHED = 2, S_SNAPSHOT = 3,
    S_RESULT = 4, S_PONG = 5, S_ERROR = 6, S_MOVED = 7;

  // snapshot layout: [3, tick, ackSeq, flags, updates, optional parts…]
  const SNAP_FIXED = 5;
  const SNAP_RESET = 1, SNAP_LEAD = 2, SNAP_REJECTS = 4, SNAP_EVENTS = 8,
    SNAP_SCORES = 16, SNAP_CREATES = 32, SNAP_REMOVES = 64;
  // mask of an update group that carries no mask (handle*2, dx, dy)
  const UPDATE_XY = 3;

  // snapshot event types
  const EV_HIT = 1, EV_KILL = 2, EV_RESPAWN = 3, EV_TAGGED = 4;

  const CLOSE_NAMES = {
    1000: "bye", 1001: "shutdown", 1006: "abnormal", 1008: "flood",
    1009: "too_large", 4000: "protocol", 4001: "version", 4002: "idle",
    4003: "replaced", 4004: "congested", 4005: "internal", 4006: "hello_timeout",
    4007: "moved",
  };
  const REJECT_NAMES = { 1: "bad_direction", 2: "cooldown", 3: "dropped", 4: "invalid", 5: "missing" };
  // error message codes (PROTOCOL.md §5)
  const E_UNKNOWN_MODE = 1, E_ALREADY_QUEUED = 2, E_NOT_QUEUED = 3, E_SEAT_EXPIRED = 4, E_MATCH_GONE = 5;
  // welcome's `where`: where the server has the player.
  const WHERE_LOBBY = 0, WHERE_QUEUED = 1, WHERE_SEATED = 2;
  const CLOSE_VERSION = 4001, CLOSE_REPLACED = 4003, CLOSE_MOVED = 4007;
  // Codes we close with ourselves when we give a socket up (never 1000:
  // the server must see a drop, not a goodbye, to hold our seat).
  const CLOSE_STALLED = 4100, CLOSE_RESYNC = 4101, CLOSE_OFFLINE = 4102, CLOSE_MOVING = 4103,
    CLOSE_TEST_DROP = 4999;

  const MSG_SEAT_EXPIRED = "Your seat expired — back in the lobby";
  const MSG_MATCH_GONE = "The match is gone (server restarted)";
  const MSG_NO_RESUME = "The match could not be resumed — back in the lobby";
  // A welcome with where=0 after we lost a match's connection: the seat is
  // gone (the error that usually follows makes it MSG_SEAT_EXPIRED or
  // MSG_MATCH_GONE).
  const MSG_SEAT_GONE = "Your seat in the match is gone — back in the lobby";
  const MSG_REPLACED = "This game was opened in another tab or window — not reconnecting";
  const OUTCOME_TITLES = {
    0: "Match over",
    1: "Match ended (server error)",
    2: "Match ended (server shutting down)",
  };

  // ---------------------------------------------------------------------------
  // Game constants
  // ---------------------------------------------------------------------------

  // Avatar speed in u/s by mode name (the server's rule: x += mx*speed*dt,
  // y += my*speed*dt, then clamp to the world).
  const SPEEDS = { arena: 200, tag: 220 };
  const DEFAULT_SPEED = 200;

  // Aim vectors shorter than this (world units) are sent as (0, 0).
  const MIN_AIM = 1e-3;

  // Fire cooldown in seconds (arena: 250 ms -> ceil(0.25 * tickRate) ticks).
  const FIRE_COOLDOWN_S = 0.25;

  // Diagonal component: one ulp below Math.SQRT1_2, so that the diagonal move
  // vector has length <= 1 however the server computes it
  // (SQRT1_2² * 2 is 1.0000000000000002 in float64; this gives 0.9999999999999998).
  const DIAG = 0.7071067811865475;

  // Just-in-time inputs (PROTOCOL.md §11; the same constants as client/jit.go).
  const JIT_GAIN = 0.5;             // share of the lead error corrected per fresh report
  const JIT_EWMA = 0.1;             // moving average factor of the jitter estimate
  const JIT_MIN_TARGET_US = 2000;   // µs
  const JIT_MAX_TARGET_US = 15000;  // µs (also at most half a tick)
  const JIT_MAX_SAMPLE_US = 10000;  // µs: cap of one jitter sample
  const JIT_STALE_MIN_US = 1000;    // µs: smaller shifts do not make reports stale
  const JIT_MISS_BOOST_US = 500;    // µs added to the margin per missed tick
  const JIT_MAX_BOOST_US = 2000;    // µs
  const FIRST_MARGIN_MS = 8;        // the first input of a match aims this long before the next tick
  const ACK_EWMA = 0.1;             // moving average factor of the input-to-ack time
  const SENT_RING = 256;            // send times kept for the input-to-ack measure

  const INTERP_DELAY_MS = 100;     // render others this far in the past
  // Entities far from the avatar are updated every 3rd tick only (§10): two
  // position changes at most this many ticks apart are interpolated across.
  const SPARSE_UPDATE_TICKS = 3;
  const SNAPSHOT_BUFFER_MS = 1000; // how much snapshot history to keep
  const PING_INTERVAL_MS = 1000;
  const BACKOFF_START_MS = 250;
  const BACKOFF_CAP_MS = 5000;
  // After a welcome with where=2 the server sends matched or seat_expired at
  // once; this is only a safety net for a server that says neither.
  const RESUME_WAIT_MS = 5000;
  const STALL_MS = 3000;           // no frame (snapshot, pong…) for this long: the socket is dead
  // Inputs sent are kept this long (at least two checkpoint intervals of 1 s),
  // acknowledged or not: a seat restored from a checkpoint may have lost
  // inputs the old host had acknowledged, and they are sent again.
  const HISTORY_MS = 3000;
  const HISTORY_MAX = 1024;        // and never more than this many
  const MAX_BATCH = 64;            // inputs in one `inputs` frame (PROTOCOL.md, netcode.MaxBatch)
  // Inputs sent again and not yet acknowledged, at most: the server queues
  // 8 inputs per player in a held seat and up to 64 in a seat restored from
  // a checkpoint (one whose matched.ackSeq went back below an ack we had).
  const RESEND_WINDOW = 8;
  const RESEND_WINDOW_RESTORED = MAX_BATCH;
  // After `moved` the server closes with 4007 at once; a socket still open
  // this long after it is given up (and the move followed anyway).
  const MOVED_CLOSE_WAIT_MS = 1000;
  // Moves are followed at once, but a chain of them with no welcome that
  // settles anything (a node sending us to a node that sends us back) is
  // slowed down: from the MOVES_AT_ONCE+1-th in a row, after 100 ms,
  // doubling up to 1 s.
  const MOVES_AT_ONCE = 3;
  const MOVE_LOOP_START_MS = 100;
  const MOVE_LOOP_CAP_MS = 1000;
  const NEW_SESSION_AFTER = 8;     // consecutive failed opens before asking for a fresh session
  const AUTOPLAY_REQUEUE_MS = 3000;
  const MAX_ERRORS_KEPT = 50;

  // Drawing sizes in world units (the protocol does not carry them).
  const RADIUS = { player: 16, npc: 14, projectile: 4 };
  const DEFAULT_RADIUS = 10;
  const VIEW_SPAN = 1100; // world units visible across the smaller screen side

  // ---------------------------------------------------------------------------
  // URL options
  // ---------------------------------------------------------------------------

  const params = new URLSearchParams(location.search);
  const AUTOPLAY = params.get("autoplay") === "1" || params.get("autoplay") === "true";

  // ---------------------------------------------------------------------------
  // Test hook: a plain object mutated in place as things happen.
  // ---------------------------------------------------------------------------

  const hook = {
    state: "lobby",       // "lobby" | "connecting" | "queued" | "playing" | "reconnecting" | "moving" | "over"
    status: "",           // the status line text
    mode: "arena",
    name: null,
    version: null,
    where: null,          // the last welcome's where: 0 lobby, 1 queued, 2 seated (null before any)
    playerId: null,
    entityId: null,
    matchId: null,
    tick: 0,
    ackSeq: 0,
    tickRate: 0,
    worldW: 0,
    worldH: 0,
    predicted: { x: 0, y: 0 }, // own predicted position
    server: { x: 0, y: 0 },    // own position as last received from the server
    dead: false,
    correction: 0,             // distance the last reconciliation moved the predicted position
    score: 0,                  // own score, from the score table
    scores: {},                // score table: entityId -> score (every player's known score)
    endTick: 0,                // tick at which the match ends by the clock (from matched)
    timeLeftMs: 0,             // (endTick - tick) / tickRate
    entities: 0,               // entities in view (the mirror's size)
    lastSnapshot: null,        // { tick, ackSeq, timeLeftMs, rejects, events, scores (whole table), scoreChanges,
                               //   reset, creates, updates, removes (counts), lead,
                               //   entities: [{id,kind,kindName,x,y,fields}] (the whole mirror) }
    leadUs: null,              // lead (µs) of the last snapshot that reported one
    leadAvgUs: null,           // its moving average
    leadDevUs: null,           // jitter estimate: moving mean of the lead changes our own shifts don't explain
    targetLeadUs: null,        // the margin the input schedule aims the lead at (µs)
    ackMs: null,               // moving average of the time from sending an input to the snapshot acking it
    lastAckMs: null,           // the last such time
    scheduleShiftMs: 0,        // total shift applied to the input schedule so far (positive: later)
    desyncs: 0,                // snapshots that did not fit the mirror (each forced a reconnect)
    fullViews: 0,              // snapshots with reset (full views) received in the current match
    snapshots: 0,              // snapshots received in the current match
    lastSeq: 0,                // seq of the last input sent (never goes back within the page's life)
    seatFirstSeq: null,        // seq of the first new input sent in the current seat (null before it)
    inputsSent: 0,
    shotsFired: 0,
    lastAim: null,             // [aimX, aimY] of the last input that fired: (0, 0) or a unit vector
    pendingInputs: 0,
    rejects: 0,                // total rejected inputs
    rejectsByCode: {},
    rttMs: null,
    reconnects: 0,             // successful reconnects (welcome on a new socket after a drop)
    resumed: 0,                // reconnects that got the same match seat back
    disconnects: 0,            // connections lost (closes we did not ask for, stalls, offline)
    reconnectAttempts: 0,
    moved: 0,                  // `moved` messages followed (reconnected at once to another node, no drop)
    node: location.origin,     // base URL of the node we talk to: the page's origin, or where the last `moved` sent us
    lastMoveMs: null,          // time from the last `moved` to the seat resumed (or the welcome, without a seat)
    lastOutageMs: null,        // time from the last drop to the seat being resumed
    online: true,              // navigator.onLine as last seen
    notice: "",                // the last message on losing a seat (seat expired, match gone, replaced); kept
    away: {},                  // entityId -> true for players whose seat is held while they are away
    resends: 0,                // inputs sent again after resumes (in `inputs` frames)
    resendFrames: 0,           // `inputs` frames sent
    lastResendFrom: null,      // [first, last] seq sent again after the last resume (null: none)
    historyInputs: 0,          // inputs kept for resending (the last HISTORY_MS of sends)
    replaced: false,           // closed with 4003: the session is played elsewhere now
    closeCode: null,
    closeReason: "",
    errors: [],                // [{source, code, text, at}]
    outcome: null,
    standings: null,           // [{playerId, name, entityId, score, place}]
  };
  window.skirmish = hook;

  // ---------------------------------------------------------------------------
  // DOM
  // ---------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const canvas = $("view");
  const ctx = canvas.getContext("2d");
  const el = {
    status: $("status"),
    lobby: $("lobby"),
    name: $("name"),
    mode: $("mode"),
    play: $("play"),
    result: $("result"),
    resultTitle: $("result-title"),
    resultNote: $("result-note"),
    standingsBody: document.querySelector("#standings tbody"),
    again: $("again"),
    leave: $("leave"),
    error: $("error"),
    feed: $("feed"),
    ping: $("hud-ping"),
    net: $("hud-net"),
    scoreboard: $("scoreboard"),
    scoreboardBody: document.querySelector("#scoreboard tbody"),
    tick: $("hud-tick"),
    score: $("hud-score"),
    time: $("hud-time"),
    entities: $("hud-entities"),
    debug: $("hud-debug"),
  };

  // ---------------------------------------------------------------------------
  // Connection state
  // ---------------------------------------------------------------------------

  let token = null;          // session credential: kept private, never put in the hook
  let ws = null;             // current WebSocket (null when none)
  let wsOpened = false;      // the current socket reached "open"
  let welcomed = false;      // welcome received on the current socket
  let closingByUs = false;   // we closed the current socket ourselves
  let wantPlay = false;      // the player asked to play (queue after welcome)
  let reconnecting = false;  // the current socket is a reconnection attempt
  // What we had when the connection was lost, until the reconnection settles:
  // {state, matchId, queued, at}. null when no reconnection is under way.
  let dropped = null;
  let reconnectAttempt = 0;
  let failedOpens = 0;       // consecutive sockets that never opened
  let refusedWhileUp = false;// the last socket failed to open while /healthz answered: our token is likely unknown
  let sessionRenewed = false;// a new session was created while reconnecting: the old seat is gone
  let reconnectTimer = null;
  let waitingOnline = false; // a reconnection waits for the browser to be online again
  let pingTimer = null;
  let resumeTimer = null;    // safety net: the wait for matched/error after a where=2 welcome
  let autoplayTimer = null;
  let creatingSession = false;
  let queueSent = false;     // queue sent and neither matched nor back in the lobby since
  // Leave sent and no queue since: a queued, matched or result already on
  // its way when we left is stale (the server has taken the leave after it).
  let leaveSent = false;
  // The socket whose welcome (where=0) told us our seat was gone: the
  // seat_expired / match_gone that follows it only refines the message.
  let seatLostOn = null;
  let lastFrameAt = 0;       // performance.now() of the last frame received
  let lastStallCheck = 0;
  // The node we talk to: null for the page's own origin (behind a proxy, the
  // public entry that reaches any live node), else the base URL a `moved`
  // gave us. A lost connection is retried alternately there and at the
  // page's origin.
  let currentNode = null;
  let socketNode = null;     // the base URL of the current socket (null: the page's origin)
  let socketIsMove = false;  // the current socket follows a `moved`
  let nodeAttempt = 0;       // reconnection attempts since the last welcome (even: current node, odd: origin)
  // A `moved` received on the current socket: {sock, base, at}; the close
  // that follows it (4007) is a move, not a drop.
  let movedTo = null;
  let movedTimer = null;     // gives up a socket that does not close after `moved`
  let movesInRow = 0;        // moves followed since the last welcome that settled where we are

  // ---------------------------------------------------------------------------
  // Match state
  // ---------------------------------------------------------------------------

  let match = null;          // see onMatched
  let seq = 0;               // seq of the last input sent
  let pending = [];          // inputs sent and not yet acknowledged: {seq, mx, my, buttons, aimX, aimY, at}
  // Every input sent in the current seat during the last HISTORY_MS,
  // acknowledged or not, oldest first (the same objects as pending).
  let history = [];
  let resendQueue = [];      // inputs still to send again after a resume (in seq order)
  let resendWindow = RESEND_WINDOW; // at most this many sent again and not yet acknowledged
  let lastResentSeq = 0;     // highest seq sent again since the last resume
  let ackHigh = 0;           // highest ackSeq heard in the current seat (a restore may go below it)
  let pred = null;           // own predicted position {x, y} (null before the first snapshot)
  let prevPred = null;       // predicted position before the last input (for smooth drawing)
  let lastInputAt = 0;
  let ownDead = false;
  let lastFireSeq = -Infinity; // seq of the last input that fired
  let fireQueued = false;    // a click is waiting for the next allowed input
  let inputTimer = null;
  let nextInputAt = 0;       // performance.now() time of the next input send
  let snapshots = [];        // [{t, tick, ents: Map(id -> entity)}], oldest first
  let scores = new Map();    // entityId -> score (the score table, kept from score changes)
  let awayIds = new Set();   // entityIds of players away (seat held), from the score table
  let scoresVersion = 0;     // bumped when the score table changes (the scoreboard redraws)

  // Mirror of the player's view (as netcode/mirror.go): entities by per-view
  // handle, each with its quantized values q = [x, y, field0, …].
  let ents = [];             // handle -> {id, kind, q:[…]} | undefined
  let byId = new Map();      // entity id -> handle

  // Just-in-time input schedule (as client/jit.go; times in µs): fresh
  // reports so far, previous fresh lead, jitter estimate dev, target margin,
  // shift still to apply, shift applied since the previous fresh report,
  // seq below which reports are stale, margin boost after missed ticks,
  // consecutive reports that look like missed ticks, and whether the pending
  // shift drains a queue (applied at once). avg/avgN are for display only.
  const jit = {
    n: 0, prev: 0, dev: 0, target: 0, shift: 0, applied: 0,
    staleBefore: 0, boost: 0, misses: 0, drain: false, avg: 0, avgN: 0,
  };
  // The input loop starts at the first snapshot of a match or of a resumed
  // seat (it marks the server's tick phase), not at `matched`.
  let inputLoopAwaitsSnapshot = false;
  // Send times of recent inputs, for the input-to-ack measure: seq % SENT_RING -> {seq, at}.
  let sentRing = new Array(SENT_RING);
  let maxHp = 1;             // highest hp seen on a player (hp bars are relative to it)
  const hitFlash = new Map();// entityId -> time of the last hit
  const feedItems = [];      // [{text, at}]

  // Input devices
  const keys = new Set();
  let mouseDown = false;
  let mouseScreen = null;    // {x, y} in CSS pixels
  let camera = { cx: 0, cy: 0, scale: 1, w: 0, h: 0 };

  // ---------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------

  const num = (v) => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0);
  const clamp = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);
  const lerp = (a, b, t) => a + (b - a) * t;

  function sanitizeName(s) {
    // 1..24 printable characters; default "player".
    const clean = Array.from(String(s || "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim())
      .slice(0, 24).join("");
    return clean || "player";
  }

  function setStatus(text, warn = false) {
    hook.status = text;
    el.status.textContent = text;
    el.status.classList.toggle("warn", warn);
  }

  function setState(state, statusText, warn = false) {
    hook.state = state;
    if (statusText !== undefined) setStatus(statusText, warn);
    const inGame = state === "playing";
    el.leave.classList.toggle("hidden", !(inGame || state === "queued"));
    el.lobby.classList.toggle("hidden", state !== "lobby");
    if (state !== "over") el.result.classList.add("hidden");
  }

  function recordError(source, code, text) {
    hook.errors.push({ source, code, text, at: Date.now() });
    if (hook.errors.length > MAX_ERRORS_KEPT) hook.errors.splice(0, hook.errors.length - MAX_ERRORS_KEPT);
  }

  let errorTimer = null;
  function showError(text) {
    el.error.textContent = text;
    el.error.classList.remove("hidden");
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => el.error.classList.add("hidden"), 8000);
  }
  function hideError() {
    el.error.classList.add("hidden");
  }

  function pushFeed(text) {
    feedItems.push({ text, at: performance.now() });
    if (feedItems.length > 6) feedItems.shift();
    renderFeed();
  }
  function renderFeed() {
    const now = performance.now();
    while (feedItems.length && now - feedItems[0].at > 6000) feedItems.shift();
    const html = feedItems.map((f) => `<li>${escapeHtml(f.text)}</li>`).join("");
    if (el.feed.innerHTML !== html) el.feed.innerHTML = html;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function closeLabel(code, reason) {
    return `${code} ${reason || CLOSE_NAMES[code] || ""}`.trim();
  }

  function entityLabel(id) {
    if (match && id === match.entityId) return "you";
    return `#${id}`;
  }

  // ---------------------------------------------------------------------------
  // Session and socket
  // ---------------------------------------------------------------------------

  async function createSession() {
    const name = sanitizeName(el.name.value);
    el.name.value = name;
    const res = await fetch("/v1/sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name }),
      cache: "no-store",
    });
    if (res.status !== 201 && !res.ok) throw new Error(`session request failed: HTTP ${res.status}`);
    const body = await res.json();
    if (!body || typeof body.token !== "string") throw new Error("session request failed: no token");
    token = body.token;
    hook.playerId = body.playerId || null;
    hook.name = body.name || name;
  }

  /** Called by the Play buttons and by autoplay. */
  async function start() {
    clearTimeout(autoplayTimer);
    autoplayTimer = null;
    hook.mode = el.mode.value;
    wantPlay = true;
    hideError();
    el.result.classList.add("hidden");
    el.lobby.classList.add("hidden");

    if (ws && welcomed) {            // connection already up: just queue
      sendQueue();
      return;
    }
    if (ws || reconnectTimer || waitingOnline) { // a (re)connection is under way; it will queue after welcome
      if (hook.state === "moving") return;
      setState(hook.state === "reconnecting" ? "reconnecting" : "connecting",
        hook.state === "reconnecting" ? hook.status : "connecting…", hook.state === "reconnecting");
      return;
    }
    setState("connecting", "connecting…");
    if (!token) {
      if (creatingSession) return;
      creatingSession = true;
      try {
        await createSession();
      } catch (err) {
        creatingSession = false;
        const text = String(err && err.message ? err.message : err);
        recordError("session", 0, text);
        showError(text);
        if (AUTOPLAY) {
          const delay = scheduleReconnect();
          setState("connecting", `session failed, retrying ${delayText(delay)}… (${text})`, true);
        } else {
          wantPlay = false;
          setState("lobby", `session failed: ${text}`, true);
        }
        return;
      }
      creatingSession = false;
    }
    openSocket(false);
  }

  /**
   * The game socket's URL at a node: base is a node's base URL (http(s),
   * maybe with a path prefix: `https://host/n/n2` serves `wss://host/n/n2/ws`),
   * or null for the page's own origin.
   */
  function socketURL(base) {
    const q = `?token=${encodeURIComponent(token)}`;
    if (base === null) {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      return `${scheme}//${location.host}/ws${q}`;
    }
    const u = new URL(base, location.href);
    const scheme = { "http:": "ws:", "https:": "wss:", "ws:": "ws:", "wss:": "wss:" }[u.protocol];
    return `${scheme}//${u.host}${u.pathname.replace(/\/+$/, "")}/ws${q}`;
  }

  /**
   * A node's base URL as `moved` gives it, checked and without a trailing
   * slash (null if it is no http(s) or ws(s) URL). The page's own origin is
   * null too: it is where we started.
   */
  function nodeBase(url) {
    let u;
    try {
      u = new URL(String(url), location.href);
    } catch (_) {
      return undefined;
    }
    if (!["http:", "https:", "ws:", "wss:"].includes(u.protocol) || !u.host) return undefined;
    const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
    return base === location.origin ? null : base;
  }

  /** Where the next reconnection attempt goes: alternately the current node and the page's origin. */
  function reconnectTarget() {
    if (currentNode === null) return null;
    return nodeAttempt % 2 === 0 ? currentNode : null;
  }

  function setNode(base) {
    currentNode = base;
    hook.node = base === null ? location.origin : base;
  }

  function openSocket(isReconnect, base = currentNode, isMove = false) {
    const sock = new WebSocket(socketURL(base));
    sock.binaryType = "arraybuffer";
    ws = sock;
    socketNode = base;
    socketIsMove = isMove;
    wsOpened = false;
    welcomed = false;
    closingByUs = false;
    reconnecting = isReconnect;
    lastFrameAt = performance.now();

    sock.onopen = () => {
      if (ws !== sock) return;
      wsOpened = true;
      lastFrameAt = performance.now();
      send([C_HELLO, PROTO_MIN, PROTO_MAX]);
    };
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      lastFrameAt = performance.now();
      onFrame(ev.data);
    };
    // An error is always followed by a close event, whose code tells the story.
    sock.onerror = () => {};
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      onClose(ev);
    };
  }

  function send(msg) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encode(msg));
    return true;
  }

  function sendQueue() {
    const mode = hook.mode || "arena";
    if (send([C_QUEUE, mode])) {
      queueSent = true;
      leaveSent = false;
      if (hook.state !== "queued") setState("connecting", `joining the ${mode} queue…`);
    }
  }

  function closeByUs(code = 1000, reason = "bye") {
    if (!ws) return;
    closingByUs = true;
    try { ws.close(code, reason); } catch (_) { /* already closing */ }
  }

  /** Forgets the current socket (its later events are ignored). */
  function detachSocket() {
    ws = null;
    wsOpened = false;
    welcomed = false;
    movedTo = null;
    clearTimeout(movedTimer);
    movedTimer = null;
    stopPing();
    stopInputLoop();
    clearResumeWait();
  }

  function delayText(ms) {
    return `in ${(ms / 1000).toFixed(1)} s`;
  }

  function onClose(ev) {
    const code = ev.code;
    const reason = ev.reason || "";
    hook.closeCode = code;
    hook.closeReason = reason;
    const wasOpened = wsOpened;
    const byUs = closingByUs;
    const base = socketNode;
    const mv = movedTo !== null && movedTo.sock === ws ? movedTo : null;
    detachSocket();

    if (byUs) {
      wantPlay = false;
      dropped = null;
      if (hook.state === "over") setStatus(`connection closed (${closeLabel(code, reason)})`);
      else setState("lobby", `connection closed (${closeLabel(code, reason)})`);
      return;
    }
    if (code === CLOSE_REPLACED) {
      // The same session was opened elsewhere: that one plays now. Never
      // reconnect from here (it would take the seat back and so on); Play
      // starts over as a new guest.
      token = null;
      toLobby(MSG_REPLACED, false);
      hook.replaced = true;
      return;
    }
    if (code === CLOSE_VERSION) {
      // No common protocol version: retrying cannot help.
      const text = `connection closed (${closeLabel(code, reason)}): this client speaks protocol ${PROTO_MIN}..${PROTO_MAX}`;
      toLobby(text, false);
      return;
    }
    if (mv || code === CLOSE_MOVED) {
      // `moved` then 4007: our seat (or the node to use) is elsewhere. Not a
      // drop: follow it at once. (A 4007 without a usable `moved` sends us
      // to the page's origin, which reaches a live node.)
      followMove(mv ? mv.base : null, mv ? mv.at : performance.now());
      return;
    }
    if (!wasOpened) {
      failedOpens += 1;
      // Only the page's origin can be asked whether it is up (a node
      // elsewhere answers /healthz without CORS).
      if (base === null) probeServer();
      else refusedWhileUp = false;
    }
    connectionLost(`connection lost (${closeLabel(code, reason)})`);
  }

  /**
   * `moved` [7, url]: the player's seat, the match they were just seated in,
   * or the node to use (this one drains) is at the node whose base URL is
   * url. The server closes with 4007 right after; the close follows the
   * move (see onClose). No input goes to this socket any more: what it
   * would have carried is sent at the new node.
   */
  function onMoved(msg) {
    let base = nodeBase(msg[1]);
    if (base === undefined) {
      recordError("server", 0, `moved to an unusable URL: ${String(msg[1]).slice(0, 200)}`);
      base = null;
    }
    stopInputLoop();
    const sock = ws;
    movedTo = { sock, base, at: performance.now() };
    clearTimeout(movedTimer);
    movedTimer = setTimeout(() => {
      movedTimer = null;
      if (ws === sock && movedTo && movedTo.sock === sock) {
        abandonSocket(CLOSE_MOVING, "moving", "moving to another server");
      }
    }, MOVED_CLOSE_WAIT_MS);
  }

  /**
   * Follows a `moved`: reconnect at once (no backoff, not a drop) with the
   * same token to base (null: the page's origin), which becomes the
   * current node. The welcome there says where we are: usually seated, and
   * matched resumes our seat (resume()).
   */
  function followMove(base, at) {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    stopInputLoop();
    stopPing();
    clearResumeWait();
    hook.moved += 1;
    setNode(base);
    // This is the attempt at the node: if it fails, the backoff tries the
    // page's origin next (the node may be gone: a record outlives its node
    // by up to 3 s), then the node again, and so on.
    nodeAttempt = 1;
    reconnectAttempt = 0;
    if (wantPlay) {
      if (!dropped) {
        dropped = {
          state: hook.state,
          matchId: match && hook.state === "playing" ? match.id : null,
          queued: queueSent || hook.state === "queued",
          at,
          moved: true, // no drop so far: only a move
        };
      }
      if (hook.state !== "over" && hook.state !== "lobby") {
        setState("moving", `moving to ${hostOf(base)}…`);
      }
    }
    if (navigator.onLine === false) {
      waitingOnline = true; // "online" reconnects (to this node first)
      return;
    }
    waitingOnline = false;
    movesInRow += 1;
    if (movesInRow > MOVES_AT_ONCE) {
      // Moved again and again without getting anywhere: not in a tight loop.
      const delay = Math.min(MOVE_LOOP_CAP_MS, MOVE_LOOP_START_MS * 2 ** (movesInRow - MOVES_AT_ONCE - 1));
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        openSocket(true, base, true);
      }, delay);
      return;
    }
    openSocket(true, base, true);
  }

  function hostOf(base) {
    try {
      return new URL(base === null ? location.href : base).host;
    } catch (_) {
      return String(base);
    }
  }

  /**
   * The connection is gone without our asking: remember what we had (the
   * match to resume, the queue to rejoin) and reconnect with backoff. In the
   * lobby with nothing to play for, just say so: Play reconnects.
   */
  function connectionLost(why) {
    stopInputLoop();
    stopPing();
    clearResumeWait();
    if (!dropped) {
      hook.disconnects += 1;
      if (!wantPlay) {
        setStatus(`disconnected (${why})`, true);
        return;
      }
      dropped = {
        state: hook.state,
        matchId: match && hook.state === "playing" ? match.id : null,
        queued: queueSent || hook.state === "queued",
        at: lastFrameAt || performance.now(), // the outage began with the last frame heard
        moved: false,
      };
    } else if (dropped.moved) {
      // Following a move failed: now it is a drop (what we had stays).
      hook.disconnects += 1;
      dropped.moved = false;
    }
    const delay = scheduleReconnect();
    setState("reconnecting", delay < 0
      ? `${why}, reconnecting when the network is back…`
      : `${why}, reconnecting ${delayText(delay)}…`, true);
  }

  /**
   * Gives up the current socket at once (stalled, offline, or a view we lost
   * track of) and reconnects. The socket is closed with a code of ours (not
   * 1000) so that the server, when the close reaches it, holds our seat.
   */
  function abandonSocket(code, reason, why) {
    const sock = ws;
    if (!sock) return;
    sock.onmessage = null;
    sock.onclose = null;
    sock.onerror = () => {};
    if (sock.readyState === WebSocket.CONNECTING) {
      // Closing before the handshake makes Chromium log an error: close it
      // once open instead (or let it fail by itself).
      sock.onopen = () => { try { sock.close(code, reason); } catch (_) { /* gone */ } };
    } else {
      sock.onopen = null;
      try { sock.close(code, reason); } catch (_) { /* already closing */ }
    }
    hook.closeCode = code;
    hook.closeReason = reason;
    const mv = movedTo !== null && movedTo.sock === sock ? movedTo : null;
    detachSocket();
    if (mv) followMove(mv.base, mv.at); // the server said where to go: go there
    else connectionLost(why);
  }

  /**
   * A snapshot did not fit the mirror: record it, stop trusting this socket,
   * and reconnect (a resumed seat starts with a full view).
   */
  function resync(text) {
    recordError("mirror", 0, text);
    hook.desyncs += 1;
    stopInputLoop();
    abandonSocket(CLOSE_RESYNC, "resync", "lost track of the view");
  }

  /**
   * Schedules the next (re)connection attempt; returns its delay in ms, or -1
   * when the browser is offline (the attempt then waits for "online").
   */
  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (navigator.onLine === false) {
      waitingOnline = true;
      return -1;
    }
    const base = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** reconnectAttempt);
    // Jitter: ±20 % around the base, never above the cap.
    const delay = Math.round(Math.min(BACKOFF_CAP_MS, base * (0.8 + 0.4 * Math.random())));
    reconnectAttempt += 1;
    reconnectTimer = setTimeout(reconnectNow, delay);
    return delay;
  }

  async function reconnectNow() {
    reconnectTimer = null;
    if (navigator.onLine === false) {
      waitingOnline = true;
      if (hook.state === "reconnecting") setStatus("offline, reconnecting when the network is back…", true);
      return;
    }
    hook.reconnectAttempts += 1;
    // A socket refused by a server that answers /healthz (or many failed
    // opens in a row) means the server no longer knows our token (it
    // restarted without a session store): get a fresh session. The old seat
    // is gone with it.
    if (!token || refusedWhileUp || failedOpens >= NEW_SESSION_AFTER) {
      const hadToken = token !== null;
      try {
        await createSession();
      } catch (err) {
        const delay = scheduleReconnect();
        setStatus(`server unreachable, retrying ${delay < 0 ? "when online" : delayText(delay)}…`, true);
        return;
      }
      failedOpens = 0;
      refusedWhileUp = false;
      if (hadToken) sessionRenewed = true;
    }
    if (hook.state === "reconnecting") setStatus(`reconnecting… (attempt ${reconnectAttempt})`, true);
    // Alternately the node we were on and the page's origin (behind a proxy
    // the public entry, which reaches any live node).
    const base = reconnectTarget();
    nodeAttempt += 1;
    openSocket(dropped !== null, base);
  }

  /** After a socket that never opened: is the server up (then it refused us)? */
  function probeServer() {
    refusedWhileUp = false;
    fetch("/healthz", { cache: "no-store" })
      .then((res) => { if (res.ok && !wsOpened) refusedWhileUp = true; })
      .catch(() => { /* down: the socket failed for that */ });
  }

  function onOnline() {
    hook.online = true;
    if (!waitingOnline && !reconnectTimer) return;
    waitingOnline = false;
    reconnectAttempt = 0; // the network is back: start the backoff over
    const delay = scheduleReconnect();
    if (hook.state === "reconnecting") setStatus(`back online, reconnecting ${delayText(delay)}…`, true);
  }

  function onOffline() {
    hook.online = false;
    // The socket cannot carry anything now, and may never notice: give it up.
    if (ws) abandonSocket(CLOSE_OFFLINE, "offline", "network offline");
    else if (reconnectTimer) {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      waitingOnline = true;
      if (hook.state === "reconnecting") setStatus("offline, reconnecting when the network is back…", true);
    }
  }

  function startPing() {
    stopPing();
    const ping = () => {
      // Stall watchdog: the server sends a snapshot every tick in a match and
      // a pong every second, so a long silence means the socket is dead even
      // if the browser did not notice. (A check that itself ran late, e.g. in
      // a frozen tab, proves nothing.)
      const now = performance.now();
      const late = lastStallCheck && now - lastStallCheck > 2 * PING_INTERVAL_MS;
      lastStallCheck = now;
      if (welcomed && !late && now - lastFrameAt > STALL_MS) {
        abandonSocket(CLOSE_STALLED, "stalled", `connection stalled (nothing for ${Math.round((now - lastFrameAt) / 1000)} s)`);
        return;
      }
      send([C_PING, performance.now()]);
    };
    lastStallCheck = 0;
    ping();
    pingTimer = setInterval(ping, PING_INTERVAL_MS);
  }
  function stopPing() {
    clearInterval(pingTimer);
    pingTimer = null;
  }

  function clearResumeWait() {
    clearTimeout(resumeTimer);
    resumeTimer = null;
  }

  /**
   * Clears everything about the current match on our side (the seat is
   * gone). The seq counter stays: seqs never go back within a session (the
   * next seat's inputs go on above it).
   */
  function forgetMatch() {
    stopInputLoop();
    match = null;
    pending = [];
    history = [];
    resendQueue = [];
    pred = null;
    prevPred = null;
    snapshots = [];
    fireQueued = false;
    clearMirror();
    scoresVersion += 1;
    hook.pendingInputs = 0;
  }

  /**
   * Back to the lobby with a message: the seat was lost (or the page was
   * replaced). With ?autoplay=1 (and requeue), queue again at once.
   */
  function toLobby(text, requeue) {
    clearResumeWait();
    clearTimeout(autoplayTimer);
    autoplayTimer = null;
    dropped = null;
    queueSent = false;
    wantPlay = false;
    forgetMatch();
    hook.notice = text;
    setState("lobby", text, true);
    if (requeue && AUTOPLAY) start();
    showError(text); // after start(), which clears old errors: this one stays a while
  }

  // ---------------------------------------------------------------------------
  // Incoming messages
  // ---------------------------------------------------------------------------

  function onFrame(data) {
    if (typeof data === "string") return; // the protocol only uses binary frames
    let msg;
    try {
      msg = decode(new Uint8Array(data));
    } catch (err) {
      recordError("decode", 0, String(err && err.message ? err.message : err));
      return;
    }
    if (!Array.isArray(msg) || msg.length === 0) return;
    switch (num(msg[0])) {
      case S_WELCOME: onWelcome(msg); break;
      case S_QUEUED: onQueued(msg); break;
      case S_MATCHED: onMatched(msg); break;
      case S_SNAPSHOT: onSnapshot(msg); break;
      case S_RESULT: onResult(msg); break;
      case S_PONG: onPong(msg); break;
      case S_ERROR: onError(msg); break;
      case S_MOVED: onMoved(msg); break;
      default: break; // unknown message types are ignored
    }
  }

  function onWelcome(msg) {
    welcomed = true;
    reconnectAttempt = 0;
    failedOpens = 0;
    refusedWhileUp = false;
    leaveSent = false; // from here on the server's word is this welcome's
    seatLostOn = null;
    hook.version = num(msg[1]);
    hook.playerId = String(msg[2]);
    hook.name = String(msg[3]);
    // Where the server has us: 0 lobby, 1 queued, 2 seated. A 4-element
    // welcome (an older server) means 0; an unknown value is taken as 0 too.
    const w = msg.length > 4 ? num(msg[4]) : WHERE_LOBBY;
    const where = w === WHERE_QUEUED || w === WHERE_SEATED ? w : WHERE_LOBBY;
    hook.where = where;
    startPing();
    // The node that welcomed us is the one we are on now.
    setNode(socketNode);
    nodeAttempt = 0;

    let d = null;       // what we had when the connection was lost (or moved)
    let renewed = false; // a new guest session: nothing of the old one is left
    if (reconnecting) {
      reconnecting = false;
      d = dropped;
      // A move is no reconnection, unless a drop came in between.
      if (d ? !d.moved : !socketIsMove) hook.reconnects += 1;
      if (d && d.moved && where !== WHERE_SEATED) hook.lastMoveMs = Math.round(performance.now() - d.at);
    }
    renewed = sessionRenewed;
    sessionRenewed = false;

    if (where === WHERE_SEATED) {
      // matched follows (our seat again, or the seat a queue we were in
      // found meanwhile), or seat_expired if its grace ran out meanwhile.
      waitForSeat(d);
      return;
    }
    movesInRow = 0;
    dropped = null;
    if (d && d.matchId) {
      // We had a seat and the server has none for us: it is gone. The
      // seat_expired / match_gone that usually follows only says why.
      toLobby(renewed ? MSG_MATCH_GONE : MSG_SEAT_GONE, where === WHERE_LOBBY);
      if (!renewed) seatLostOn = ws;
      if (where === WHERE_LOBBY) return; // (queued again with ?autoplay=1)
    }
    if (where === WHERE_QUEUED) {
      // Still in the queue (queued follows): not queued again.
      wantPlay = true;
      queueSent = true;
      setState("queued", `queued for ${hook.mode}, waiting for players…`);
      return;
    }
    // In the lobby: a place in a queue we had is gone (queue again), or
    // this is a first connection (Play).
    if (wantPlay) sendQueue();
    else if (hook.state === "over") setStatus(hook.status);
    else setState("lobby", "connected: lobby");
  }

  /**
   * After a welcome with where=2: the server sends matched (resume or a new
   * seat) or error seat_expired right away. The timer is only a safety net
   * for a server that says neither.
   */
  function waitForSeat(d) {
    clearResumeWait();
    if (d && d.moved) {
      // Following a move: no trouble to show.
      setState("moving", d.matchId ? `moving: resuming match ${d.matchId}…` : "moving: joining the match…");
    } else {
      setState("reconnecting", d && d.matchId
        ? `reconnecting: resuming match ${d.matchId}…`
        : "reconnecting: joining the match…", true);
    }
    const sock = ws;
    resumeTimer = setTimeout(() => {
      resumeTimer = null;
      if (ws !== sock || !welcomed) return;
      recordError("client", 0, `no matched nor error ${RESUME_WAIT_MS} ms after welcome where=2`);
      toLobby(MSG_NO_RESUME, true);
    }, RESUME_WAIT_MS);
  }

  function onQueued(msg) {
    // In a match, or after a leave that the queue crossed: stale.
    if (hook.state === "playing" || leaveSent) return;
    clearResumeWait();
    dropped = null;
    const mode = String(msg[1]);
    setState("queued", `queued for ${mode}, waiting for players…`);
  }

  function onMatched(msg) {
    // A seat found just before our leave reached the server: the server
    // has freed it since (the leave came after).
    if (leaveSent) return;
    seatLostOn = null;
    movesInRow = 0;
    const matchId = String(msg[1]);
    const mode = String(msg[2]);
    const entityId = num(msg[3]);
    const tickRate = Math.max(1, num(msg[4]));
    const schema = Array.isArray(msg[7]) ? msg[7] : [1, [], []];
    const fields = (Array.isArray(schema[2]) ? schema[2] : []).map((f) => ({
      name: String(Array.isArray(f) ? f[0] : f),
      scale: (Array.isArray(f) && num(f[1])) || 1,
    }));
    // Version 3: the mode's declaration (speed, actions...) and kinds as
    // [name, shape, color, size, label, team].
    const info = Array.isArray(msg[11]) ? msg[11] : [];
    const fire = (Array.isArray(info[3]) ? info[3] : []).find((a) => Array.isArray(a) && a[1] === "fire");
    const matchTick = num(msg[8]);
    const endTick = msg.length > 9 ? num(msg[9]) : 0;
    const ackSeq = msg.length > 10 ? num(msg[10]) : 0;
    // Our seat again after a reconnect: same match, same avatar.
    const resumed = match !== null && match.id === matchId && match.entityId === entityId;
    // The same match but another seat (re-queued into it): the hook's
    // counters go on, the input state starts over.
    const sameMatch = match !== null && match.id === matchId;
    const d = dropped;
    clearResumeWait();
    dropped = null;
    queueSent = false;

    if (resumed) {
      resume(ackSeq, matchTick, endTick, d);
      return;
    }

    match = {
      id: matchId,
      mode,
      entityId,
      tickRate,
      worldW: num(msg[5]),
      worldH: num(msg[6]),
      posScale: num(schema[0]) || 1,
      kinds: (Array.isArray(schema[1]) ? schema[1] : []).map((k) => String(Array.isArray(k) ? k[0] : k)),
      fields,
      hpIndex: fields.findIndex((f) => f.name === "hp"),
      itIndex: fields.findIndex((f) => f.name === "it"),
      speed: num(info[0]) || (SPEEDS[mode] !== undefined ? SPEEDS[mode] : DEFAULT_SPEED),
      dt: Math.fround(1 / tickRate),
      canFire: fire !== undefined,
      fireBit: fire !== undefined ? num(fire[0]) : 0,
      cooldownTicks: fire !== undefined ? num(fire[2]) : Math.ceil(FIRE_COOLDOWN_S * tickRate - 1e-9),
      startTick: matchTick,
      endTick,
    };

    // A new seat: the server voids every seq up to ackSeq, and ours never
    // go back within a session, so the next input is above both.
    seq = Math.max(seq, ackSeq);
    hook.seatFirstSeq = null;
    pending = [];
    history = []; // inputs of another seat are void here
    resendQueue = [];
    resendWindow = RESEND_WINDOW;
    lastResentSeq = 0;
    ackHigh = ackSeq;
    hook.historyInputs = 0;
    pred = null;
    prevPred = null;
    ownDead = false;
    lastFireSeq = -Infinity;
    fireQueued = false;
    snapshots = [];
    clearMirror();
    scoresVersion += 1;
    resetJit();
    sentRing = new Array(SENT_RING);
    hook.ackSeq = ackSeq;
    hook.lastSeq = seq;
    hook.pendingInputs = 0;
    hook.entities = 0;
    hook.lastSnapshot = null; // it described the old seat's view
    if (!sameMatch) {
      maxHp = 1;
      hitFlash.clear();
      hook.snapshots = 0;
      hook.inputsSent = 0;
      hook.shotsFired = 0;
      hook.rejects = 0;
      hook.rejectsByCode = {};
      hook.fullViews = 0;
      hook.score = 0;
      hook.scores = {};
      hook.away = {};
      hook.outcome = null;
      hook.standings = null;
      hook.ackMs = null;
      hook.lastAckMs = null;
      hook.leadUs = null;
      hook.leadAvgUs = null;
      hook.leadDevUs = null;
      hook.targetLeadUs = null;
      hook.scheduleShiftMs = 0;
    }
    hook.matchId = matchId;
    hook.mode = mode;
    hook.entityId = match.entityId;
    hook.tickRate = tickRate;
    hook.worldW = match.worldW;
    hook.worldH = match.worldH;
    hook.endTick = endTick;
    hook.tick = matchTick;
    hook.timeLeftMs = timeLeftAt(matchTick);

    setState("playing", `in match ${matchId} (${mode})`);
    // The input loop starts at the first snapshot (see onSnapshot).
    stopInputLoop();
    inputLoopAwaitsSnapshot = true;
  }

  /**
   * Takes our seat back after a reconnect or a move (the same match and
   * avatar). The seq counter goes on. matched.ackSeq is the last seq the
   * seat settled, which after a restore from a checkpoint (the match moved
   * to another node) may be below acks we already had: every kept input
   * above it (HISTORY_MS of them, acknowledged or not) is sent again with
   * its seq, in order, in `inputs` frames, before any new input. The server
   * applies each seq at most once (and reports a seq that never arrived as
   * rejected "missing"). Those inputs are pending again: the next snapshot
   * is a full view, the mirror starts empty, and reconciliation replays
   * them on the server's position.
   */
  function resume(ackSeq, matchTick, endTick, d) {
    const wentBack = ackSeq < ackHigh;
    const moved = !!(d && d.moved) || socketIsMove;
    if (ackSeq > seq) seq = ackSeq; // never reuse a seq the server has seen
    if (endTick) match.endTick = endTick;
    pending = history.filter((p) => p.seq > ackSeq);
    snapshots = [];
    clearMirror();
    scoresVersion += 1;
    // The jit state goes on (as the Go client): same seat, same seq
    // counter. On another node the tick phase is another: start it over.
    if (moved || wentBack) resetJit();
    hook.ackSeq = ackSeq;
    hook.lastSeq = seq;
    hook.tick = matchTick;
    hook.endTick = match.endTick;
    hook.timeLeftMs = timeLeftAt(matchTick);
    hook.resumed += 1;
    const since = d ? Math.round(performance.now() - d.at) : null;
    if (d && d.moved) hook.lastMoveMs = since;
    else hook.lastOutageMs = since;
    setState("playing", `in match ${match.id} (${match.mode}), resumed`);

    // A seat restored from a checkpoint takes up to 64 waiting inputs; a
    // seat held for us, 8.
    resendWindow = wentBack ? RESEND_WINDOW_RESTORED : RESEND_WINDOW;
    lastResentSeq = ackSeq;
    ackHigh = ackSeq;
    resendQueue = pending.slice();
    hook.lastResendFrom = resendQueue.length ? [resendQueue[0].seq, resendQueue[resendQueue.length - 1].seq] : null;
    flushResends();
    hook.pendingInputs = pending.length;
    // The input loop starts again at the first snapshot (see onSnapshot).
    stopInputLoop();
    inputLoopAwaitsSnapshot = true;
  }

  /**
   * Sends what the window allows of the resend queue, in `inputs` frames
   * ([5, [[seq, mx, my, buttons, aimX, aimY], …]], at most MAX_BATCH each,
   * seqs increasing): at most resendWindow inputs sent again and not yet
   * acknowledged, so that none overflows the seat's input queue; more go
   * as acks come. Inputs acknowledged meanwhile are skipped.
   */
  function flushResends() {
    const ack = hook.ackSeq;
    while (resendQueue.length && resendQueue[0].seq <= ack) resendQueue.shift();
    if (!resendQueue.length) return;
    // Sent again and not acknowledged yet (seqs in (ack, lastResentSeq]).
    let inFlight = 0;
    for (const p of history) if (p.seq > ack && p.seq <= lastResentSeq) inFlight++;
    let room = resendWindow - inFlight;
    while (resendQueue.length && room > 0) {
      const batch = resendQueue.slice(0, Math.min(room, MAX_BATCH));
      if (!send([C_INPUTS, batch.map((p) => [p.seq, p.mx, p.my, p.buttons, p.aimX, p.aimY])])) return;
      resendQueue.splice(0, batch.length);
      const now = performance.now();
      for (const p of batch) sentRing[p.seq % SENT_RING] = { seq: p.seq, at: now };
      lastResentSeq = batch[batch.length - 1].seq;
      room -= batch.length;
      hook.resends += batch.length;
      hook.resendFrames += 1;
    }
  }

  /** Time left (ms) at tick t: (endTick − t) / tickRate. */
  function timeLeftAt(t) {
    if (!match || !match.endTick) return 0;
    return Math.max(0, ((match.endTick - t) / match.tickRate) * 1000);
  }

  // ---------------------------------------------------------------------------
  // Mirror of the view (netcode/mirror.go)
  // ---------------------------------------------------------------------------

  function clearMirror() {
    ents = [];
    byId = new Map();
    scores = new Map();
    awayIds = new Set();
  }

  const isUint = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
  const isInt = (v) => typeof v === "number" && Number.isInteger(v);

  /**
   * Applies a snapshot's diff to the mirror: reset, scores, removes, creates,
   * updates (PROTOCOL.md §5). Returns null, or the text of the trouble when the
   * snapshot does not fit the mirror or is malformed.
   */
  function applyDiff(reset, rawScores, creates, updates, removes, moved) {
    const nv = 2 + match.fields.length;
    if (reset) clearMirror();
    for (const sc of rawScores) {
      if (!Array.isArray(sc) || sc.length < 2) return "malformed score";
      const id = num(sc[0]);
      scores.set(id, num(sc[1]));
      // [entityId, score, away]: away while the player's seat is held.
      if (sc.length > 2 && sc[2] === true) awayIds.add(id);
      else awayIds.delete(id);
    }
    for (const hv of removes) {
      const h = num(hv);
      const e = ents[h];
      if (!isUint(h) || !e) return `remove of unknown handle ${h}`;
      byId.delete(e.id);
      ents[h] = undefined;
    }
    for (const c of creates) {
      if (!Array.isArray(c) || c.length < 3 + nv) return "malformed create";
      const h = num(c[0]);
      if (!isUint(h)) return "malformed create handle";
      if (ents[h]) return `create over live handle ${h}`;
      const q = new Array(nv);
      for (let i = 0; i < nv; i++) {
        q[i] = num(c[3 + i]);
        if (!isInt(q[i])) return "malformed create value";
      }
      const e = { id: num(c[1]), kind: num(c[2]), q };
      ents[h] = e;
      byId.set(e.id, h);
      moved.add(e.id);
    }
    // Flat groups: handle*2, dx, dy (x and y changed, nothing else); or
    // handle*2+1, mask, then one delta per set bit of mask, in bit order.
    let i = 0;
    const n = updates.length;
    while (i < n) {
      const key = num(updates[i++]);
      if (!isUint(key)) return "malformed update handle";
      const h = Math.floor(key / 2);
      let mask = UPDATE_XY;
      if (key % 2 === 1) {
        if (i >= n) return "truncated update";
        mask = num(updates[i++]);
        if (!isUint(mask) || mask >= 1 << nv) return `bad update mask ${mask}`;
      }
      const e = ents[h];
      if (!e) return `update of unknown handle ${h}`;
      if (mask & 3) moved.add(e.id);
      for (let j = 0; j < nv; j++) {
        if ((mask & (1 << j)) === 0) continue;
        if (i >= n) return "truncated update";
        const d = num(updates[i++]);
        if (!isInt(d)) return "malformed update delta";
        e.q[j] += d;
      }
    }
    return null;
  }

  /** The mirror's entity e, dequantized. */
  function dequantize(e) {
    const ps = match.posScale;
    const nf = match.fields.length;
    const fields = new Array(nf);
    for (let i = 0; i < nf; i++) fields[i] = e.q[2 + i] / match.fields[i].scale;
    return {
      id: e.id,
      kind: e.kind,
      kindName: match.kinds[e.kind] !== undefined ? match.kinds[e.kind] : String(e.kind),
      x: e.q[0] / ps,
      y: e.q[1] / ps,
      fields,
    };
  }

  function onSnapshot(msg) {
    if (!match) return;
    // Snapshots only count in a match: not after leave/result, nor on a
    // reconnected socket before `matched` says the seat is ours again.
    if (hook.state !== "playing") return;

    // [3, tick, ackSeq, flags, updates, then the parts whose flag is set,
    // in flag order: lead, rejects, events, scores, creates, removes].
    const arr = (v) => (Array.isArray(v) ? v : []);
    const tick = num(msg[1]);
    const ackSeq = num(msg[2]);
    const isNum = (v) => typeof v === "number" || typeof v === "bigint";
    const flags = num(msg[3]);
    if (msg.length < SNAP_FIXED || !isNum(msg[3]) || !isUint(flags) || !Array.isArray(msg[4])) {
      resync(`malformed snapshot of tick ${tick}`);
      return;
    }
    const reset = (flags & SNAP_RESET) !== 0;
    const updates = msg[4];
    let at = SNAP_FIXED;
    const part = (bit) => ((flags & bit) !== 0 ? msg[at++] : undefined);
    const leadRaw = part(SNAP_LEAD);
    const rejects = arr(part(SNAP_REJECTS));
    const events = arr(part(SNAP_EVENTS));
    const rawScores = arr(part(SNAP_SCORES));
    const creates = arr(part(SNAP_CREATES));
    const removes = arr(part(SNAP_REMOVES));
    if (at > msg.length) {
      resync(`truncated snapshot of tick ${tick}`);
      return;
    }
    const lead = leadRaw !== undefined && leadRaw !== null ? num(leadRaw) : null;
    const now = performance.now();

    const moved = new Set(); // ids whose position this snapshot sets
    const trouble = applyDiff(reset, rawScores, creates, updates, removes, moved);
    if (trouble) {
      resync(`snapshot of tick ${tick} does not fit the view: ${trouble}`);
      return;
    }
    if (reset) hook.fullViews += 1;
    if (reset || rawScores.length) scoresVersion += 1;

    // The mirror, dequantized.
    const view = new Map();
    const list = [];
    for (const e of ents) {
      if (!e) continue;
      const ent = dequantize(e);
      view.set(ent.id, ent);
      list.push(ent);
      if (ent.kindName === "player" && match.hpIndex >= 0 && ent.fields[match.hpIndex] > maxHp) {
        maxHp = ent.fields[match.hpIndex];
      }
    }

    // Rejected inputs: they are already past ackSeq, so dropping pending
    // inputs below removes them; only count them.
    for (const r of rejects) {
      if (!Array.isArray(r)) continue;
      const code = num(r[1]);
      hook.rejects += 1;
      hook.rejectsByCode[code] = (hook.rejectsByCode[code] || 0) + 1;
    }

    handleEvents(events);

    // Input-to-ack time of every input this snapshot acknowledges first.
    if (ackSeq > hook.ackSeq) {
      for (let q = Math.max(hook.ackSeq + 1, ackSeq - SENT_RING + 1); q <= ackSeq; q++) {
        const si = sentRing[q % SENT_RING];
        if (!si || si.seq !== q) continue;
        const ms = now - si.at;
        hook.lastAckMs = Math.round(ms * 100) / 100;
        hook.ackMs = hook.ackMs === null ? ms : hook.ackMs + ACK_EWMA * (ms - hook.ackMs);
      }
      if (hook.ackMs !== null) hook.ackMs = Math.round(hook.ackMs * 100) / 100;
    }

    // Just-in-time schedule: the lead is that of input ackSeq.
    if (lead !== null) {
      jitObserve(lead, ackSeq, match.tickRate);
      // Moving average of every reported lead, for display only.
      jit.avg = jit.avgN === 0 ? lead : jit.avg + JIT_EWMA * (lead - jit.avg);
      jit.avgN += 1;
      hook.leadUs = lead;
      hook.leadAvgUs = Math.round(jit.avg);
      hook.leadDevUs = Math.round(jit.dev);
      hook.targetLeadUs = Math.round(jit.target);
    }

    // Reconciliation.
    if (ackSeq > seq) seq = ackSeq; // never reuse a seq the server has already seen
    if (ackSeq > ackHigh) ackHigh = ackSeq;
    let drop = 0;
    while (drop < pending.length && pending[drop].seq <= ackSeq) drop++;
    if (drop) pending.splice(0, drop);

    const own = view.get(match.entityId);
    if (own) {
      hook.server = { x: own.x, y: own.y };
      ownDead = match.hpIndex >= 0 && own.kindName === "player" && own.fields[match.hpIndex] <= 0;
      let x = own.x;
      let y = own.y;
      if (!ownDead) {
        for (const p of pending) {
          const n = stepMove(x, y, p.mx, p.my);
          x = n.x;
          y = n.y;
        }
      }
      // Size of the correction (0 when the prediction matched the server).
      hook.correction = pred ? Math.hypot(x - pred.x, y - pred.y) : 0;
      if (pred && prevPred) {
        // Shift the drawing start point by the same correction.
        prevPred = { x: prevPred.x + (x - pred.x), y: prevPred.y + (y - pred.y) };
      } else {
        prevPred = { x, y };
      }
      pred = { x, y };
      hook.predicted = { x, y };
      hook.dead = ownDead;
      if (inputLoopAwaitsSnapshot) {
        // The first snapshot of a match (or of a resumed seat) marks the
        // server's tick phase: it left just after a tick began. The first
        // input goes FIRST_MARGIN_MS before the next tick (half a tick at
        // high rates), clear of the delays between that tick and this
        // snapshot; the jit controller refines it.
        inputLoopAwaitsSnapshot = false;
        const dt = 1000 / match.tickRate;
        startInputLoop(now + Math.max(dt - FIRST_MARGIN_MS, dt / 2));
      }
    }

    // Interpolation buffer (positions by entity id).
    snapshots.push({ t: now, tick, ents: view, moved });
    while (snapshots.length > 2 && now - snapshots[1].t > SNAPSHOT_BUFFER_MS) snapshots.shift();

    const table = {};
    for (const [id, sc] of scores) table[id] = sc;
    if (reset || rawScores.length) {
      const away = {};
      for (const id of awayIds) away[id] = true;
      hook.away = away;
    }

    hook.tick = tick;
    hook.ackSeq = ackSeq;
    // Acks make room for more inputs still to send again.
    if (resendQueue.length) flushResends();
    hook.timeLeftMs = timeLeftAt(tick);
    hook.entities = byId.size;
    hook.scores = table;
    hook.score = scores.has(match.entityId) ? scores.get(match.entityId) : 0;
    hook.pendingInputs = pending.length;
    hook.snapshots += 1;
    hook.lastSnapshot = {
      tick,
      ackSeq,
      timeLeftMs: hook.timeLeftMs,
      rejects: rejects.map((r) => (Array.isArray(r) ? [num(r[0]), num(r[1])] : r)),
      events: events.map((e) => (Array.isArray(e) ? e.map(num) : e)),
      scores: Array.from(scores, ([id, sc]) => [id, sc]),
      scoreChanges: rawScores.map((sc) => (Array.isArray(sc) ? [num(sc[0]), num(sc[1])] : sc)),
      reset,
      creates: creates.length,
      updates: countUpdates(updates),
      removes: removes.length,
      lead,
      entities: list,
    };
  }

  /** Number of handle groups in a (valid) flat updates array. */
  function countUpdates(updates) {
    let n = 0;
    for (let i = 0; i < updates.length; n++) {
      let mask = UPDATE_XY;
      if (num(updates[i++]) % 2 === 1) mask = num(updates[i++]);
      while (mask) { i += mask & 1; mask >>>= 1; }
    }
    return n;
  }

  // ---------------------------------------------------------------------------
  // Just-in-time inputs (PROTOCOL.md §11, client/jit.go)
  // ---------------------------------------------------------------------------

  function resetJit() {
    jit.n = 0;
    jit.prev = 0;
    jit.dev = 0;
    jit.target = 0;
    jit.shift = 0;
    jit.applied = 0;
    jit.staleBefore = 0;
    jit.boost = 0;
    jit.misses = 0;
    jit.drain = false;
    jit.avg = 0;
    jit.avgN = 0;
  }

  /**
   * Takes the lead (µs) a snapshot reported about input seq (its ackSeq). A
   * report about an input sent before the last shift took effect is stale:
   * acting on it would correct the same error twice. Jitter is measured on
   * consecutive fresh leads with our own shifts taken out.
   */
  function jitObserve(leadUs, seq, tickRate) {
    if (seq < jit.staleBefore) return;
    const lead = leadUs;
    const tick = 1e6 / Math.max(tickRate, 1);
    // A lead over a whole tick means an input waited behind another: two
    // arrived within one tick (after a late send) and, at one input per
    // tick, that queue would never drain. Send the next input a whole
    // excess later, at once: one tick gets no new input and the queue is
    // gone.
    if (jit.n > 3 && lead > tick) {
      jit.misses = 0;
      jit.shift = lead - jit.target;
      jit.drain = true;
      return;
    }
    // Once settled, a lead of more than half a tick is an input that just
    // missed its tick and waited for the next: jitter, not a phase error.
    // Widen the margin instead of moving the schedule a tick's worth; only
    // repeated misses mean the phase really moved.
    if (jit.n > 3 && lead > tick / 2) {
      jit.misses += 1;
      if (jit.misses < 3) {
        jit.boost = Math.min(jit.boost + JIT_MISS_BOOST_US, JIT_MAX_BOOST_US);
        return;
      }
    }
    jit.misses = 0;
    jit.boost *= 0.98;
    // The first reports are the schedule's big initial move, not jitter;
    // later samples are clipped so that one outlier cannot inflate the
    // margin for long.
    if (jit.n >= 2) {
      const sample = Math.min(Math.abs(lead - jit.prev + jit.applied), JIT_MAX_SAMPLE_US);
      jit.dev += JIT_EWMA * (sample - jit.dev);
    }
    jit.n += 1;
    jit.prev = lead;
    jit.applied = 0;
    jit.target = Math.min(Math.max(JIT_MIN_TARGET_US, 1000 + 4 * jit.dev) + jit.boost, JIT_MAX_TARGET_US);
    if (tickRate > 0) jit.target = Math.min(jit.target, 0.5e6 / tickRate);
    // Positive: inputs arrive too early, send later. The first report moves
    // the schedule all the way at once: a new match's tick phase has nothing
    // to do with the last one's.
    const gain = jit.n === 1 ? 1 : JIT_GAIN;
    jit.shift = gain * (lead - jit.target);
  }

  /**
   * The shift (ms) to apply to the send of input seq: at most half a tick,
   * so that the schedule moves smoothly (a whole one to drain a queue).
   * dtUs is the tick in whole µs.
   */
  function jitTake(dtUs, seq) {
    let lim = dtUs / 2;
    if (jit.drain) {
      lim *= 2;
      jit.drain = false;
    }
    const s = clamp(jit.shift, -lim, lim);
    jit.shift -= s;
    jit.applied += s;
    if (Math.abs(s) >= JIT_STALE_MIN_US) jit.staleBefore = seq;
    return Math.trunc(s) / 1000; // whole µs, as the Go client's Duration
  }

  function handleEvents(events) {
    const now = performance.now();
    for (const ev of events) {
      if (!Array.isArray(ev)) continue;
      const type = num(ev[0]);
      const a = num(ev[1]);
      const b = num(ev[2]);
      switch (type) {
        case EV_HIT:
          hitFlash.set(b, now);
          break;
        case EV_KILL:
          pushFeed(`${entityLabel(a)} eliminated ${entityLabel(b)}`);
          break;
        case EV_RESPAWN:
          if (match && a === match.entityId) pushFeed("you respawned");
          break;
        case EV_TAGGED:
          pushFeed(`${entityLabel(a)} ${a === (match && match.entityId) ? "are" : "is"} it`);
          break;
        default:
          break;
      }
    }
  }

  function onResult(msg) {
    // The end of a match we already left (the result crossed our leave).
    if (leaveSent) return;
    clearResumeWait();
    dropped = null;
    queueSent = false;
    stopInputLoop();
    pending = [];
    history = [];
    resendQueue = [];
    fireQueued = false;
    wantPlay = false;
    hook.historyInputs = 0;
    const outcome = num(msg[1]);
    const standings = (Array.isArray(msg[2]) ? msg[2] : []).filter(Array.isArray).map((s) => ({
      playerId: String(s[0]),
      name: String(s[1]),
      entityId: num(s[2]),
      score: num(s[3]),
      place: num(s[4]),
    }));
    hook.outcome = outcome;
    hook.standings = standings;
    hook.pendingInputs = 0;

    el.resultTitle.textContent = OUTCOME_TITLES[outcome] || `Match ended (outcome ${outcome})`;
    el.standingsBody.innerHTML = "";
    let mine = null;
    for (const s of standings) {
      const tr = document.createElement("tr");
      const me = s.playerId === hook.playerId;
      if (me) { tr.className = "me"; mine = s; }
      for (const v of [s.place, me ? `${s.name} (you)` : s.name, s.score]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.appendChild(td);
      }
      el.standingsBody.appendChild(tr);
    }
    const placeText = mine ? `you placed ${mine.place} of ${standings.length}` : "";
    setState("over", `match over${placeText ? ": " + placeText : ""}`);
    el.result.classList.remove("hidden");
    if (AUTOPLAY) {
      el.resultNote.textContent = `next match in ${AUTOPLAY_REQUEUE_MS / 1000} s…`;
      clearTimeout(autoplayTimer);
      autoplayTimer = setTimeout(() => {
        autoplayTimer = null;
        if (hook.state === "over") start();
      }, AUTOPLAY_REQUEUE_MS);
    } else {
      el.resultNote.textContent = "";
    }
  }

  function onPong(msg) {
    const sent = num(msg[1]);
    const rtt = performance.now() - sent;
    if (Number.isFinite(rtt) && rtt >= 0 && rtt < 60000) hook.rttMs = Math.round(rtt * 10) / 10;
    hook.serverTimeMs = num(msg[2]);
  }

  function onError(msg) {
    const code = num(msg[1]);
    const text = String(msg[2]);
    recordError("server", code, text);
    if (code === E_SEAT_EXPIRED || code === E_MATCH_GONE) {
      const why = code === E_SEAT_EXPIRED ? MSG_SEAT_EXPIRED : MSG_MATCH_GONE;
      if (hook.state === "reconnecting" || hook.state === "moving" || resumeTimer !== null) {
        // The answer to a where=2 welcome: the seat we were resuming is gone.
        toLobby(why, true);
      } else if (seatLostOn !== null && seatLostOn === ws) {
        // Right after a where=0 welcome that already put us in the lobby
        // (and maybe in the queue again): only the message becomes precise.
        seatLostOn = null;
        hook.notice = why;
        if (hook.state === "lobby") setStatus(why, true);
        showError(why);
      }
      // Otherwise it is stale (we play a seat matched gave us, or are in
      // the lobby or the queue already): ignored, never a second queue.
      return;
    }
    if (code === E_NOT_QUEUED) {
      // A leave that crossed the end of our match or queue: we are in the
      // lobby, as the page already shows. Nothing to tell the player.
      return;
    }
    showError(`server: ${text} (${code})`);
    if (code === E_UNKNOWN_MODE && hook.state !== "playing") {
      wantPlay = false;
      queueSent = false;
      setState("lobby", `cannot queue: ${text}`, true);
    }
    // already_queued (E_ALREADY_QUEUED) needs no state change.
  }

  // ---------------------------------------------------------------------------
  // Input loop, prediction
  // ---------------------------------------------------------------------------

  /**
   * The server's movement rule: x += mx*speed*dt; y += my*speed*dt; then clamp
   * to the world. The Go server keeps positions, inputs and dt in float32, so
   * every operation is rounded to float32 (Math.fround) like it does there.
   */
  function stepMove(x, y, mx, my) {
    const f = Math.fround;
    const sp = match.speed;
    const dt = match.dt;
    x = f(f(x) + f(f(f(mx) * sp) * dt));
    y = f(f(y) + f(f(f(my) * sp) * dt));
    x = clamp(x, 0, match.worldW);
    y = clamp(y, 0, match.worldH);
    return { x, y };
  }

  /** WASD / arrows to a move vector of length <= 1 (y grows downward). */
  function readMove() {
    const right = keys.has("KeyD") || keys.has("ArrowRight");
    const left = keys.has("KeyA") || keys.has("ArrowLeft");
    const down = keys.has("KeyS") || keys.has("ArrowDown");
    const up = keys.has("KeyW") || keys.has("ArrowUp");
    let mx = (right ? 1 : 0) - (left ? 1 : 0);
    let my = (down ? 1 : 0) - (up ? 1 : 0);
    if (mx !== 0 && my !== 0) {
      mx *= DIAG;
      my *= DIAG;
    }
    return { mx, my };
  }

  /**
   * One input per tick on a timer of period 1/tickRate whose schedule slides
   * by the just-in-time rule (as the Go client's inputLoop): each send moves
   * the next send time by one period plus the part of the shift it may take;
   * a schedule that fell behind (background tab, long pause) restarts from
   * now instead of sending a burst.
   */
  function startInputLoop(first) {
    stopInputLoop();
    if (!match) return;
    nextInputAt = first;
    inputTimer = setTimeout(inputLoopStep, Math.max(0, first - performance.now()));
  }

  function stopInputLoop() {
    clearTimeout(inputTimer);
    inputTimer = null;
  }

  function inputLoopStep() {
    inputTimer = null;
    if (!match || hook.state !== "playing" || !welcomed) return;
    try {
      if (pred) tickInput(performance.now());
    } finally {
      // The shift moves the next send, so it applies to the next new input:
      // seq + 1 after this step (as the Go client's take(dt, c.seq+2) before
      // its increment).
      const dtUs = Math.floor(1e6 / match.tickRate);
      const shift = jitTake(dtUs, seq + 1);
      hook.scheduleShiftMs = Math.round((hook.scheduleShiftMs + shift) * 1000) / 1000;
      nextInputAt += 1000 / match.tickRate + shift;
      const now = performance.now();
      if (nextInputAt < now) nextInputAt = now; // far behind: don't burst
      inputTimer = setTimeout(inputLoopStep, nextInputAt - now);
    }
  }

  function tickInput(now) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    // Inputs still to send again after a resume go first (no new input,
    // so no seq is used, this tick).
    if (resendQueue.length) {
      flushResends();
      if (resendQueue.length) return;
    }
    // Flow control: the server keeps at most 8 inputs waiting; if far more
    // than a round trip's worth are unacknowledged, skip this tick (without
    // using a seq: seqs are never skipped).
    const period = 1000 / match.tickRate;
    const inFlight = Math.ceil((hook.rttMs !== null ? hook.rttMs : 200) / period) + 8;
    if (pending.length > inFlight) return;

    const { mx, my } = readMove();
    let buttons = 0;
    let aimX = 0;
    let aimY = 0;
    // Fire cooldown: the server rejects a shot less than cooldownTicks ticks
    // after the last one, and applies at most one input per tick, so a shot
    // is safe once cooldownTicks inputs (this one included) have been sent
    // since the last shot.
    const wantsFire = match.canFire && (fireQueued || mouseDown);
    if (wantsFire && !ownDead && seq + 1 - lastFireSeq >= match.cooldownTicks) {
      buttons = 1 << match.fireBit;
      const from = pred || hook.server;
      const aim = mouseWorld();
      if (aim) {
        const dir = aimDirection(aim.x - from.x, aim.y - from.y);
        aimX = dir.x;
        aimY = dir.y;
      }
      fireQueued = false;
      lastFireSeq = seq + 1;
      hook.shotsFired += 1;
      hook.lastAim = [aimX, aimY];
    }

    seq += 1;
    if (hook.seatFirstSeq === null) hook.seatFirstSeq = seq;
    send([C_INPUT, seq, mx, my, buttons, aimX, aimY]);
    const input = { seq, mx, my, buttons, aimX, aimY, at: now };
    pending.push(input);
    keepInput(input, now);
    sentRing[seq % SENT_RING] = { seq, at: performance.now() };

    // Prediction.
    if (pred && !ownDead) {
      prevPred = pred;
      pred = stepMove(pred.x, pred.y, mx, my);
      hook.predicted = { x: pred.x, y: pred.y };
    } else if (pred) {
      prevPred = pred;
    }
    lastInputAt = now;
    hook.lastSeq = seq;
    hook.inputsSent += 1;
    hook.pendingInputs = pending.length;
  }

  /**
   * Keeps an input sent for HISTORY_MS (at least two checkpoint intervals),
   * acknowledged or not: a seat restored from a checkpoint may go back
   * before it. Older inputs go, unless still unacknowledged.
   */
  function keepInput(input, now) {
    history.push(input);
    let drop = 0;
    while (drop < history.length - 1 && (history.length - drop > HISTORY_MAX ||
        (now - history[drop].at > HISTORY_MS && history[drop].seq <= hook.ackSeq))) drop++;
    if (drop) history.splice(0, drop);
    hook.historyInputs = history.length;
  }

  /**
   * The aim sent for a vector from the avatar to the mouse: a unit vector,
   * or (0, 0) (fire along the last move) when the mouse is on the avatar.
   * The server rejects a non-zero aim shorter than 1e-6 (reject 1); below
   * MIN_AIM world units the direction means nothing anyway.
   */
  function aimDirection(dx, dy) {
    const len = Math.hypot(dx, dy);
    if (!Number.isFinite(len) || len < MIN_AIM) return { x: 0, y: 0 };
    return { x: dx / len, y: dy / len };
  }

  function mouseWorld() {
    if (!mouseScreen) return null;
    return screenToWorld(mouseScreen.x, mouseScreen.y);
  }

  // ---------------------------------------------------------------------------
  // Interpolation
  // ---------------------------------------------------------------------------

  /** Entities as they were INTERP_DELAY_MS ago, interpolated between snapshots. */
  function interpolatedEntities(now) {
    const n = snapshots.length;
    if (n === 0) return [];
    const rt = now - INTERP_DELAY_MS;
    if (n === 1 || rt <= snapshots[0].t) return Array.from(snapshots[0].ents.values());
    let i = n - 1;
    while (i > 0 && snapshots[i].t > rt) i--;
    if (i === n - 1) return Array.from(snapshots[n - 1].ents.values()); // no newer one: hold the last
    const a = snapshots[i];
    const b = snapshots[i + 1];
    const out = [];
    for (const eb of b.ents.values()) {
      let sa = a;
      let sb = b;
      // An entity updated only every few ticks (far from the avatar) holds
      // still between its updates: slide it from one position change to the
      // next instead, when they are at most SPARSE_UPDATE_TICKS apart.
      if (!b.moved.has(eb.id) || !a.moved.has(eb.id)) {
        let k0 = i;
        while (k0 > 0 && !snapshots[k0].moved.has(eb.id) && a.tick - snapshots[k0].tick < SPARSE_UPDATE_TICKS) k0--;
        let k1 = i + 1;
        while (k1 < n - 1 && !snapshots[k1].moved.has(eb.id) && snapshots[k1].tick - b.tick < SPARSE_UPDATE_TICKS) k1++;
        const s0 = snapshots[k0];
        const s1 = snapshots[k1];
        if (s0.moved.has(eb.id) && s1.moved.has(eb.id) && s1.tick - s0.tick <= SPARSE_UPDATE_TICKS &&
            s0.ents.has(eb.id) && s1.ents.has(eb.id)) {
          sa = s0;
          sb = s1;
        }
      }
      const ea = sa.ents.get(eb.id);
      const ebb = sb.ents.get(eb.id) || eb;
      if (!ea || ea.kind !== ebb.kind) {
        out.push(eb);
        continue;
      }
      const span = sb.t - sa.t;
      const t = span > 0 ? clamp((rt - sa.t) / span, 0, 1) : 1;
      // A jump of more than 300 u between two snapshots is a respawn/teleport: don't slide.
      if (Math.abs(ebb.x - ea.x) + Math.abs(ebb.y - ea.y) > 300) {
        out.push(t < 0.5 ? ea : eb);
        continue;
      }
      out.push({ id: eb.id, kind: eb.kind, kindName: eb.kindName,
        x: lerp(ea.x, ebb.x, t), y: lerp(ea.y, ebb.y, t), fields: eb.fields });
    }
    return out;
  }

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------

  function resizeCanvas() {
    const dpr = window.devicePixelRatio || 1;
    const w = window.innerWidth;
    const h = window.innerHeight;
    const pw = Math.round(w * dpr);
    const ph = Math.round(h * dpr);
    if (canvas.width !== pw || canvas.height !== ph) {
      canvas.width = pw;
      canvas.height = ph;
    }
    camera.w = w;
    camera.h = h;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function worldToScreen(x, y) {
    return { x: (x - camera.cx) * camera.scale + camera.w / 2, y: (y - camera.cy) * camera.scale + camera.h / 2 };
  }
  function screenToWorld(sx, sy) {
    return { x: (sx - camera.w / 2) / camera.scale + camera.cx, y: (sy - camera.h / 2) / camera.scale + camera.cy };
  }

  function ownDrawPos(now) {
    if (!pred) return null;
    if (ownDead || !prevPred || !match) return pred;
    const period = 1000 / match.tickRate;
    const t = clamp((now - lastInputAt) / period, 0, 1);
    return { x: lerp(prevPred.x, pred.x, t), y: lerp(prevPred.y, pred.y, t) };
  }

  function updateCamera(own) {
    const W = match ? match.worldW : 2000;
    const H = match ? match.worldH : 2000;
    const minSide = Math.min(camera.w, camera.h) || 1;
    let scale = minSide / VIEW_SPAN;
    const fit = Math.min(camera.w / (W + 80), camera.h / (H + 80));
    if (fit > scale) scale = fit; // the whole world fits: show it all
    camera.scale = scale;
    const halfW = camera.w / 2 / scale;
    const halfH = camera.h / 2 / scale;
    const margin = 60;
    const cx = own ? own.x : W / 2;
    const cy = own ? own.y : H / 2;
    // Keep the view within the world (plus a margin); center it on an axis where the world is smaller.
    camera.cx = 2 * halfW >= W + 2 * margin ? W / 2 : clamp(cx, halfW - margin, W - halfW + margin);
    camera.cy = 2 * halfH >= H + 2 * margin ? H / 2 : clamp(cy, halfH - margin, H - halfH + margin);
  }

  function render() {
    const now = performance.now();
    resizeCanvas();
    const own = match ? ownDrawPos(now) : null;
    updateCamera(own);

    const W = match ? match.worldW : 2000;
    const H = match ? match.worldH : 2000;
    const s = camera.scale;

    ctx.fillStyle = "#070a0e";
    ctx.fillRect(0, 0, camera.w, camera.h);

    // World floor and grid.
    const tl = worldToScreen(0, 0);
    ctx.fillStyle = "#111922";
    ctx.fillRect(tl.x, tl.y, W * s, H * s);
    ctx.strokeStyle = "rgba(120, 150, 180, 0.08)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    const step = 100;
    for (let gx = step; gx < W; gx += step) {
      const p = worldToScreen(gx, 0);
      ctx.moveTo(Math.round(p.x) + 0.5, tl.y);
      ctx.lineTo(Math.round(p.x) + 0.5, tl.y + H * s);
    }
    for (let gy = step; gy < H; gy += step) {
      const p = worldToScreen(0, gy);
      ctx.moveTo(tl.x, Math.round(p.y) + 0.5);
      ctx.lineTo(tl.x + W * s, Math.round(p.y) + 0.5);
    }
    ctx.stroke();

    // World border.
    ctx.strokeStyle = "#3d6b9a";
    ctx.lineWidth = 3;
    ctx.strokeRect(tl.x, tl.y, W * s, H * s);

    if (match && snapshots.length) {
      const ents = interpolatedEntities(now);
      // Projectiles under avatars, NPCs, then players.
      const order = { projectile: 0, npc: 1, player: 2 };
      ents.sort((a, b) => (order[a.kindName] ?? 1) - (order[b.kindName] ?? 1));
      for (const e of ents) {
        if (e.id === match.entityId) continue;
        drawEntity(e, e.x, e.y, false, now);
      }
      // Own avatar at its predicted position.
      const latest = snapshots[snapshots.length - 1].ents.get(match.entityId);
      if (latest && own) drawEntity(latest, own.x, own.y, true, now);
      drawAimLine(own);
      drawMinimap(ents, own);
    }

    updateHud();
    renderFeed();
    requestAnimationFrame(render);
  }

  function drawEntity(e, x, y, isOwn, now) {
    const p = worldToScreen(x, y);
    const s = camera.scale;
    const kind = e.kindName;
    const r = Math.max(2, (RADIUS[kind] || DEFAULT_RADIUS) * s);
    if (p.x < -50 || p.y < -50 || p.x > camera.w + 50 || p.y > camera.h + 50) return;

    const hp = match.hpIndex >= 0 ? e.fields[match.hpIndex] : null;
    const it = match.itIndex >= 0 ? e.fields[match.itIndex] > 0 : false;
    const dead = hp !== null && hp <= 0 && kind !== "projectile";
    const away = kind === "player" && !isOwn && awayIds.has(e.id);
    const alpha = dead || away ? 0.3 : 1;

    ctx.save();
    ctx.globalAlpha = alpha;

    if (kind === "projectile") {
      ctx.fillStyle = "#ffe066";
      ctx.shadowColor = "#ffcc33";
      ctx.shadowBlur = 8;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
      ctx.fill();
    } else if (kind === "npc") {
      ctx.fillStyle = "#d9823b";
      ctx.strokeStyle = "#8a4a18";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(p.x, p.y - r);
      ctx.lineTo(p.x + r, p.y);
      ctx.lineTo(p.x, p.y + r);
      ctx.lineTo(p.x - r, p.y);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    } else {
      const isPlayer = kind === "player";
      ctx.fillStyle = isOwn ? "#4fdc7c" : isPlayer ? "#4a9dff" : "#9aa7b4";
      ctx.strokeStyle = isOwn ? "#e8fff0" : isPlayer ? "#1c4f8f" : "#56606a";
      ctx.lineWidth = isOwn ? 3 : 2;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
    }

    if (it) {
      ctx.strokeStyle = "#ff4d5a";
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + 5, 0, Math.PI * 2);
      ctx.stroke();
    }

    const flashAt = hitFlash.get(e.id);
    if (flashAt !== undefined && now - flashAt < 250) {
      ctx.globalAlpha = 1 - (now - flashAt) / 250;
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + 3, 0, Math.PI * 2);
      ctx.stroke();
      ctx.globalAlpha = alpha;
    }
    ctx.restore();

    if (kind === "player") {
      // hp bar
      if (hp !== null) {
        const bw = Math.max(24, r * 2.2);
        const bh = 5;
        const bx = p.x - bw / 2;
        const by = p.y - r - 12;
        const frac = clamp(hp / (maxHp || 1), 0, 1);
        ctx.fillStyle = "rgba(0,0,0,0.6)";
        ctx.fillRect(bx - 1, by - 1, bw + 2, bh + 2);
        ctx.fillStyle = frac > 0.5 ? "#5fe08a" : frac > 0.25 ? "#f0c040" : "#f05060";
        ctx.fillRect(bx, by, bw * frac, bh);
      }
      // label
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillStyle = isOwn ? "#bff5cf" : away ? "#6f7d8a" : "#b8c6d4";
      const label = (isOwn ? "you" : `#${e.id}`) + (it ? " (it)" : "") + (away ? " (away)" : "");
      ctx.fillText(label, p.x, p.y + r + 4);
    }
  }

  function drawAimLine(own) {
    if (!own || !mouseScreen || hook.state !== "playing" || ownDead || !match.canFire) return;
    const p = worldToScreen(own.x, own.y);
    ctx.save();
    ctx.strokeStyle = "rgba(255, 255, 255, 0.12)";
    ctx.setLineDash([4, 6]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
    ctx.lineTo(mouseScreen.x, mouseScreen.y);
    ctx.stroke();
    ctx.restore();
  }

  function drawMinimap(ents, own) {
    const size = 150;
    const W = match.worldW || 1;
    const H = match.worldH || 1;
    const k = size / Math.max(W, H);
    const mw = W * k;
    const mh = H * k;
    const x0 = 10;
    const y0 = camera.h - mh - 10;
    ctx.save();
    ctx.fillStyle = "rgba(10, 16, 22, 0.92)";
    ctx.fillRect(x0, y0, mw, mh);
    ctx.strokeStyle = "#3d6b9a";
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, mw - 1, mh - 1);
    for (const e of ents) {
      if (e.kindName === "projectile" || e.id === match.entityId) continue;
      ctx.fillStyle = e.kindName === "npc" ? "#d9823b" : e.kindName === "player" ? "#4a9dff" : "#9aa7b4";
      ctx.fillRect(x0 + e.x * k - 1.5, y0 + e.y * k - 1.5, 3, 3);
    }
    if (own) {
      ctx.fillStyle = "#4fdc7c";
      ctx.fillRect(x0 + own.x * k - 2.5, y0 + own.y * k - 2.5, 5, 5);
    }
    // The camera's view rectangle.
    const a = screenToWorld(0, 0);
    const b = screenToWorld(camera.w, camera.h);
    ctx.strokeStyle = "rgba(255,255,255,0.35)";
    ctx.strokeRect(x0 + clamp(a.x, 0, W) * k, y0 + clamp(a.y, 0, H) * k,
      (clamp(b.x, 0, W) - clamp(a.x, 0, W)) * k, (clamp(b.y, 0, H) - clamp(a.y, 0, H)) * k);
    ctx.restore();
  }

  // HUD text is only written when it changes.
  const hudCache = {};
  function setText(key, node, text) {
    if (hudCache[key] !== text) {
      hudCache[key] = text;
      node.textContent = text;
    }
  }

  function formatTime(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const m = Math.floor(total / 60);
    const s = total % 60;
    return `${m}:${String(s).padStart(2, "0")}`;
  }

  function updateHud() {
    const inMatch = match && (hook.state === "playing" || hook.state === "over" || hook.state === "reconnecting" ||
      hook.state === "moving");
    setText("ping", el.ping, hook.rttMs === null || !welcomed ? "–" : `${Math.round(hook.rttMs)} ms`);
    setText("net", el.net, hook.state === "reconnecting" ? (waitingOnline ? "offline" : "reconnecting")
      : hook.state === "moving" ? "moving" : welcomed ? "connected" : ws ? "connecting" : "–");
    el.net.classList.toggle("warn", hook.state === "reconnecting");
    setText("tick", el.tick, inMatch && hook.snapshots ? String(hook.tick) : "–");
    setText("score", el.score, inMatch ? String(hook.score) : "–");
    setText("time", el.time, inMatch && hook.snapshots ? formatTime(hook.timeLeftMs) : "–");
    setText("entities", el.entities, inMatch && hook.snapshots ? String(hook.entities) : "–");
    const dbg = match
      ? `${match.mode} ${match.tickRate} Hz  seq ${seq}  ack ${hook.ackSeq}\n` +
        `pending ${pending.length}  rejects ${hook.rejects}  reconnects ${hook.reconnects}  resumed ${hook.resumed}\n` +
        `lead ${hook.leadUs === null ? "–" : (hook.leadUs / 1000).toFixed(1)} ms` +
        `  target ${hook.targetLeadUs === null ? "–" : (hook.targetLeadUs / 1000).toFixed(1)} ms` +
        `  ack ${hook.ackMs === null ? "–" : hook.ackMs.toFixed(1)} ms` +
        (ownDead ? "\n(dead, waiting to respawn)" : "")
      : `reconnects ${hook.reconnects}  resumed ${hook.resumed}`;
    setText("debug", el.debug, dbg);
    renderScoreboard(inMatch);
  }

  /**
   * The score table (every player of the match, best first), redrawn when it
   * changes. Players away (seat held while they reconnect) are dimmed.
   */
  let scoreboardDrawn = -1;
  function renderScoreboard(inMatch) {
    const show = !!inMatch && scores.size > 0;
    el.scoreboard.classList.toggle("hidden", !show);
    if (!show || scoreboardDrawn === scoresVersion) return;
    scoreboardDrawn = scoresVersion;
    const rows = Array.from(scores, ([id, sc]) => ({ id, sc, away: awayIds.has(id), me: id === match.entityId }))
      .sort((a, b) => b.sc - a.sc || a.id - b.id);
    const MAX_ROWS = 10;
    let shown = rows.slice(0, MAX_ROWS);
    const mine = rows.findIndex((r) => r.me);
    if (mine >= MAX_ROWS) shown = shown.slice(0, MAX_ROWS - 1).concat(rows[mine]);
    const frag = document.createDocumentFragment();
    for (const r of shown) {
      const tr = document.createElement("tr");
      if (r.me) tr.className = "me";
      else if (r.away) tr.className = "away";
      const name = document.createElement("td");
      name.textContent = r.me ? "you" : `#${r.id}`;
      if (r.away) {
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "away";
        name.appendChild(tag);
      }
      const score = document.createElement("td");
      score.textContent = String(r.sc);
      tr.append(name, score);
      frag.appendChild(tr);
    }
    el.scoreboardBody.replaceChildren(frag);
  }

  // ---------------------------------------------------------------------------
  // Input devices and UI wiring
  // ---------------------------------------------------------------------------

  const GAME_KEYS = new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);

  function typingInField(ev) {
    const t = ev.target;
    return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }

  window.addEventListener("keydown", (ev) => {
    if (typingInField(ev)) {
      if (ev.key === "Enter" && hook.state === "lobby") start();
      return;
    }
    if (GAME_KEYS.has(ev.code)) {
      keys.add(ev.code);
      if (hook.state === "playing") ev.preventDefault();
    }
  });
  window.addEventListener("keyup", (ev) => {
    keys.delete(ev.code);
  });
  window.addEventListener("blur", () => {
    keys.clear();
    mouseDown = false;
  });

  canvas.addEventListener("mousemove", (ev) => {
    mouseScreen = { x: ev.clientX, y: ev.clientY };
  });
  canvas.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0) return;
    mouseScreen = { x: ev.clientX, y: ev.clientY };
    if (hook.state === "playing") {
      fireQueued = true;
      mouseDown = true;
    }
  });
  window.addEventListener("mouseup", (ev) => {
    if (ev.button === 0) mouseDown = false;
  });
  canvas.addEventListener("contextmenu", (ev) => ev.preventDefault());

  function updatePlayLabel() {
    el.play.textContent = `Play ${el.mode.value}`;
    hook.mode = el.mode.value;
  }
  el.mode.addEventListener("change", updatePlayLabel);
  el.play.addEventListener("click", () => start());
  el.again.addEventListener("click", () => start());
  el.leave.addEventListener("click", () => leave());

  /**
   * Leaves the queue or the match: the page is in the lobby at once. What
   * crossed the leave on its way (not_queued if the match had just ended; a
   * queued, matched or result sent before the server took the leave) is
   * settled quietly.
   */
  function leave() {
    if (send([C_LEAVE])) leaveSent = true;
    seatLostOn = null;
    wantPlay = false;
    queueSent = false;
    dropped = null;
    clearResumeWait();
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    waitingOnline = false;
    forgetMatch();
    setState("lobby", "left: lobby");
  }

  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  hook.online = navigator.onLine !== false;

  window.addEventListener("pagehide", () => {
    clearTimeout(reconnectTimer);
    closeByUs(1000, "bye");
  });

  // Helpers for automated tests (not used by the page itself).
  window.skirmishDebug = {
    /**
     * Closes the socket abruptly from the page (code 4999, not a goodbye): the
     * page treats it as a dropped connection and reconnects.
     */
    dropSocket() {
      if (ws) ws.close(CLOSE_TEST_DROP, "test drop");
    },
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
      ents = [];
    },
    /** Other entities as drawn now (interpolated ~100 ms in the past). */
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
  };

  // ---------------------------------------------------------------------------
  // Boot
  // ---------------------------------------------------------------------------

  {
    const mode = params.get("mode");
    if (mode) {
      if (![...el.mode.options].some((o) => o.value === mode)) {
        const opt = document.createElement("option");
        opt.value = mode;
        opt.textContent = mode;
        el.mode.appendChild(opt);
      }
      el.mode.value = mode;
    }
    const name = params.get("name");
    if (name) el.name.value = sanitizeName(name);
    updatePlayLabel();
  }

  setState("lobby", "lobby: choose a name and press Play");
  requestAnimationFrame(render);
  if (AUTOPLAY) start();
})();
