/*
 * Shared state of the page's modules: the test hook (window.skirmish), the
 * DOM elements, the URL options, the match state S that the connection,
 * the prediction, the rendering and the HUD all read and write, and small
 * helpers.
 */

export const params = new URLSearchParams(location.search);
export const AUTOPLAY = params.get("autoplay") === "1" || params.get("autoplay") === "true";
// ?spectate=MATCHID: watch that match read-only (spectate.js).
export const SPECTATE = params.get("spectate") || "";

// ---------------------------------------------------------------------------
// Test hook: a plain object mutated in place as things happen.
// ---------------------------------------------------------------------------

export const hook = {
  state: "lobby",       // "lobby" | "connecting" | "queued" | "playing" | "spectating" | "reconnecting" | "moving" | "over"
  status: "",           // the status line text
  mode: "",             // the mode to queue for (the lobby's choice; matched's mode in a match)
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
  frames: 0,                 // frames drawn with a render time (once the view's snapshot buffer filled)
  emptyFrames: 0,            // … of which had no pair of snapshots around the render time (others held)
  interpDelayMs: null,       // how far the last frame's render time was behind the newest snapshot
  interpTargetMs: null,      // the delay the render clock aims at: 2 intervals + 1.25 × arrivalJitterMs
  arrivalJitterMs: null,     // p95 of the snapshots' arrival jitter over the last 64
  lastView: null,            // [tick, fraction]: the view time of the last aimed input
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
  predictor: null,           // "wasm" (the modes' Go code compiled to WebAssembly), "js" (fallback), null (loading)
  predictorError: null,      // why the WebAssembly predictor did not load (null when it did)
  predictorVersion: "",      // the Go version that built it
  predictorReadyMs: null,    // performance.now() (ms since navigation start) when it was ready
  description: null,         // the mode description the page draws and predicts from (see mode.js)
  modes: [],                 // the lobby's modes [{name, title, players}]
  modesError: null,          // why GET /v1/modes failed (null: it answered)
  leaderboard: null,         // the lobby's leaderboard {mode, players: [...], error}
  names: {},                 // entityId -> player name, as far as the page knows them
  firstDrawMs: null,         // performance.now() (ms since navigation start) of the first drawn frame
  firstFrameMs: null,        // … of the first frame drawn with a snapshot
  spectating: false,         // watching a match read-only (no avatar: entityId 0, no input sent)
  follow: 0,                 // while spectating: the avatar entity followed (0: the whole world)
  spectateDelayMs: 0,        // while spectating: how far behind live the match is shown
  watchList: null,           // the lobby's running matches (GET /v1/matches), null before the first answer
  watchError: null,          // why GET /v1/matches failed (null: it answered)
};
window.skirmish = hook;

// ---------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
export const canvas = $("view");
export const ctx = canvas.getContext("2d");
export const el = {
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
  modeList: $("mode-list"),
  board: $("board"),
  boardTitle: $("board-title"),
  boardBody: document.querySelector("#board tbody"),
  boardNote: $("board-note"),
  notice: $("notice"),
  spectateBar: $("spectate-bar"),
  spectateText: $("spectate-text"),
  spectateFollow: $("spectate-follow"),
  watchList: $("watch-list"),
  watchNote: $("watch-note"),
};
// ---------------------------------------------------------------------------
// Match state, shared by the modules (one object so that any module may
// assign its fields).
// ---------------------------------------------------------------------------

// Send times of recent inputs, for the input-to-ack measure: seq % SENT_RING -> {seq, at}.
export const SENT_RING = 256;
export const TRACER_MS = 150;     // a hitscan event's line shows this long (S.tracers keeps them that long)
export const ACK_EWMA = 0.1;      // moving average factor of the input-to-ack time
export const RESEND_WINDOW = 8;   // inputs sent again and not yet acknowledged, at most (a held seat)

export const S = {
  match: null,          // see onMatched (connection.js); match.desc is the mode description
  seq: 0,               // seq of the last input sent
  pending: [],          // inputs sent and not yet acknowledged: {seq, mx, my, buttons, aimX, aimY, at}
  // Every input sent in the current seat during the last HISTORY_MS,
  // acknowledged or not, oldest first (the same objects as pending).
  history: [],
  resendQueue: [],      // inputs still to send again after a resume (in seq order)
  resendWindow: RESEND_WINDOW, // at most this many sent again and not yet acknowledged
  lastResentSeq: 0,     // highest seq sent again since the last resume
  ackHigh: 0,           // highest ackSeq heard in the current seat (a restore may go below it)
  pred: null,           // own predicted position {x, y} (null before the first snapshot)
  prevPred: null,       // predicted position before the last input (for smooth drawing)
  lastInputAt: 0,
  ownDead: false,       // the own avatar cannot move (the mode's Spec.CanMove says so)
  lastActSeq: new Array(8).fill(-Infinity), // action bit -> seq of the last input that pressed it
  fireQueued: false,    // a click is waiting for the next allowed input ("fire")
  actQueued: new Set(), // bits of other actions whose key (1..7) waits for the next allowed input
  snapshots: [],        // [{t, tick, ents: Map(id -> entity), moved}], oldest first
  scores: new Map(),    // entityId -> score (the score table, kept from score changes)
  awayIds: new Set(),   // entityIds of players away (seat held), from the score table
  scoresVersion: 0,     // bumped when the score table or the names change (the scoreboard redraws)
  names: new Map(),     // entityId -> player name (the own from welcome; others as the server tells them)
  // Mirror of the player's view (as netcode/mirror.go): entities by per-view
  // handle, each with its quantized values q = [x, y, field0, …].
  ents: [],             // handle -> {id, kind, q:[…]} | undefined
  byId: new Map(),      // entity id -> handle
  // The input loop starts at the first snapshot of a match or of a resumed
  // seat (it marks the server's tick phase), not at `matched`.
  inputLoopAwaitsSnapshot: false,
  sentRing: new Array(SENT_RING),
  hitFlash: new Map(),  // entityId -> time of the last event that names it as its b
  tracers: [],          // "hitscan" events to draw: {a, b, at} (shooter, target, arrival ms), the last TRACER_MS
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

export const num = (v) => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0);
export const clamp = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);
export const lerp = (a, b, t) => a + (b - a) * t;

export function sanitizeName(s) {
  // 1..24 printable characters; default "player".
  const clean = Array.from(String(s || "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim())
    .slice(0, 24).join("");
  return clean || "player";
}
