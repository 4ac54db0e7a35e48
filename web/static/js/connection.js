/*
 * The connection: the session, the game WebSocket, the protocol's messages
 * in and out, reconnection and resume, following `moved` to another node,
 * and the match's life (matched, snapshots, result, leave). Snapshots feed
 * the mirror (mirror.js), the prediction (prediction.js) and the HUD.
 */

import {
  PROTO_MIN, PROTO_MAX, C_HELLO, C_QUEUE, C_INPUTS, C_PING, C_LEAVE, C_SPECTATE,
  E_SPECTATORS_FULL, E_UNKNOWN_MATCH, E_BUSY,
  S_WELCOME, S_QUEUED, S_MATCHED, S_SNAPSHOT, S_RESULT, S_PONG, S_ERROR, S_MOVED,
  CLOSE_NAMES, E_UNKNOWN_MODE, E_NOT_QUEUED, E_SEAT_EXPIRED, E_MATCH_GONE,
  WHERE_LOBBY, WHERE_QUEUED, WHERE_SEATED, CLOSE_VERSION, CLOSE_REPLACED, CLOSE_MOVED,
  CLOSE_STALLED, CLOSE_RESYNC, CLOSE_OFFLINE, CLOSE_MOVING, CLOSE_TEST_DROP,
  MSG_SEAT_EXPIRED, MSG_MATCH_GONE, MSG_NO_RESUME, MSG_SEAT_GONE, MSG_REPLACED,
  encode, decode, decodeMatched, decodeStandings,
} from "./protocol.js";
import { hook, el, S, AUTOPLAY, num, sanitizeName, SENT_RING, RESEND_WINDOW } from "./state.js";
import { describeMode } from "./mode.js";
import { clearMirror, onSnapshot } from "./mirror.js";
import { predictorReady, configurePredictor, resetJit, stopInputLoop } from "./prediction.js";
import {
  setStatus, setState, recordError, showError, hideError, showResult, setName, clearNames,
} from "./hud.js";

const PING_INTERVAL_MS = 1000;
const BACKOFF_START_MS = 250;
const BACKOFF_CAP_MS = 5000;
// After a welcome with where=2 the server sends matched or seat_expired at
// once; this is only a safety net for a server that says neither.
const RESUME_WAIT_MS = 5000;
const STALL_MS = 3000;           // no frame (snapshot, pong…) for this long: the socket is dead
const MAX_BATCH = 64;            // inputs in one `inputs` frame (PROTOCOL.md, netcode.MaxBatch)
// Inputs sent again and not yet acknowledged, at most: the server queues
// 8 inputs per player in a held seat (RESEND_WINDOW) and up to 64 in a seat
// restored from a checkpoint (one whose matched.ackSeq went back below an
// ack we had).
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
// The match to watch ({matchId, follow}) while the page spectates or asks
// to; null otherwise. A new socket's welcome sends the spectate again.
let spectateWant = null;
function closeLabel(code, reason) {
  return `${code} ${reason || CLOSE_NAMES[code] || ""}`.trim();
}
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
export async function start() {
  clearTimeout(autoplayTimer);
  autoplayTimer = null;
  spectateWant = null;
  hook.spectating = false;
  hook.mode = el.mode.value;
  wantPlay = true;
  hideError();
  el.result.classList.add("hidden");
  el.lobby.classList.add("hidden");

  if (ws && welcomed) {            // connection already up: just queue
    sendQueue();
    return;
  }
  await connect();
}

/**
 * Watches match matchId read-only (?spectate=…, a click in the lobby's
 * list of matches), following the player whose avatar is entity follow
 * (0: the whole world): a session and a socket if there is none yet, then
 * spectate [6, matchId, follow]. The answer is a spectator's matched
 * (then delayed snapshots) or an error (spectators_full, unknown_match,
 * busy).
 */
export async function spectate(matchId, follow = 0) {
  clearTimeout(autoplayTimer);
  autoplayTimer = null;
  wantPlay = false;
  spectateWant = { matchId: String(matchId), follow };
  hideError();
  el.result.classList.add("hidden");
  el.lobby.classList.add("hidden");
  if (ws && welcomed) {
    sendSpectate();
    return;
  }
  await connect();
}

/** While spectating: follow the player whose avatar is entity id (0: the whole world). */
export function follow(id) {
  if (!spectateWant) return;
  spectateWant.follow = id;
  sendSpectate();
}

function sendSpectate() {
  if (!spectateWant) return;
  if (send([C_SPECTATE, spectateWant.matchId, spectateWant.follow])) {
    leaveSent = false;
    if (hook.state !== "spectating") setState("connecting", `joining match ${spectateWant.matchId} as a spectator…`);
  }
}

/** Opens a socket (with a session first) unless one is open or coming; its welcome queues or spectates. */
async function connect() {
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
      if (AUTOPLAY || spectateWant) {
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

export function send(msg) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(encode(msg));
  return true;
}

function sendQueue() {
  if (hook.predictor === null) {
    // The predictor (WebAssembly) still loads, in parallel with the session
    // and the socket; a match needs it from its first snapshot, so the
    // queue waits for it (once: queueSent is set when it goes).
    const sock = ws;
    setStatus("connecting: loading the game code…");
    predictorReady.then(() => {
      if (ws === sock && welcomed && wantPlay && !queueSent) sendQueue();
    });
    return;
  }
  const mode = hook.mode;
  if (!mode) {
    // The lobby has no mode to offer (GET /v1/modes failed): nothing to queue for.
    wantPlay = false;
    setState("lobby", "no mode to play: the server's list of modes did not load", true);
    showError("No mode to play: the server's list of modes did not load");
    return;
  }
  if (send([C_QUEUE, mode])) {
    queueSent = true;
    leaveSent = false;
    if (hook.state !== "queued") setState("connecting", `joining the ${mode} queue…`);
  }
}

export function closeByUs(code = 1000, reason = "bye") {
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
        matchId: S.match && hook.state === "playing" ? S.match.id : null,
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
    if (!wantPlay && !spectateWant) {
      setStatus(`disconnected (${why})`, true);
      return;
    }
    dropped = {
      state: hook.state,
      matchId: S.match && hook.state === "playing" ? S.match.id : null,
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
export function resync(text) {
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

export function onOnline() {
  hook.online = true;
  if (!waitingOnline && !reconnectTimer) return;
  waitingOnline = false;
  reconnectAttempt = 0; // the network is back: start the backoff over
  const delay = scheduleReconnect();
  if (hook.state === "reconnecting") setStatus(`back online, reconnecting ${delayText(delay)}…`, true);
}

export function onOffline() {
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
  S.match = null;
  S.pending = [];
  S.history = [];
  S.resendQueue = [];
  S.pred = null;
  S.prevPred = null;
  S.snapshots = [];
  S.tracers = [];
  S.fireQueued = false;
  S.actQueued.clear();
  clearMirror();
  S.scoresVersion += 1;
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
  // this is a first connection (Play); or we watch a match (again).
  if (spectateWant) sendSpectate();
  else if (wantPlay) sendQueue();
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
  const m = decodeMatched(msg);
  if (m.spectating) {
    onSpectating(m);
    return;
  }
  const { matchId, mode, entityId, tickRate, endTick, ackSeq } = m;
  const matchTick = m.tick;
  if (!m.hasInfo) recordError("protocol", 0, "matched without the mode's info");
  // Our seat again after a reconnect: same match, same avatar.
  const resumed = S.match !== null && S.match.id === matchId && S.match.entityId === entityId;
  // The same match but another seat (re-queued into it): the hook's
  // counters go on, the input state starts over.
  const sameMatch = S.match !== null && S.match.id === matchId;
  const d = dropped;
  clearResumeWait();
  dropped = null;
  queueSent = false;

  if (resumed) {
    resume(ackSeq, matchTick, endTick, d);
    return;
  }

  // Everything about the mode (movement, actions, kinds and how to draw
  // them, events, teams) is in its description, built from matched alone.
  const listed = hook.modes.find((x) => x.name === mode);
  const desc = describeMode({ ...m, title: listed ? listed.title : mode });
  S.match = {
    id: matchId,
    mode,
    entityId,
    tickRate,
    worldW: desc.worldW,
    worldH: desc.worldH,
    desc,
    startTick: matchTick,
    endTick,
  };
  hook.description = desc;
  configurePredictor(desc);

  // A new seat: the server voids every seq up to ackSeq, and ours never
  // go back within a session, so the next input is above both.
  S.seq = Math.max(S.seq, ackSeq);
  hook.seatFirstSeq = null;
  S.pending = [];
  S.history = []; // inputs of another seat are void here
  S.resendQueue = [];
  S.resendWindow = RESEND_WINDOW;
  S.lastResentSeq = 0;
  S.ackHigh = ackSeq;
  hook.historyInputs = 0;
  S.pred = null;
  S.prevPred = null;
  S.ownDead = false;
  S.lastActSeq = new Array(8).fill(-Infinity);
  S.fireQueued = false;
  S.actQueued.clear();
  S.snapshots = [];
  clearMirror();
  S.scoresVersion += 1;
  resetJit();
  S.sentRing = new Array(SENT_RING);
  hook.ackSeq = ackSeq;
  hook.lastSeq = S.seq;
  hook.pendingInputs = 0;
  hook.entities = 0;
  hook.lastSnapshot = null; // it described the old seat's view
  if (!sameMatch) {
    forgetMatchView();
    hook.inputsSent = 0;
    hook.shotsFired = 0;
    hook.rejects = 0;
    hook.rejectsByCode = {};
    hook.score = 0;
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
  hook.entityId = S.match.entityId;
  if (hook.name) setName(entityId, hook.name); // the welcome's name is ours
  hook.tickRate = tickRate;
  hook.worldW = S.match.worldW;
  hook.worldH = S.match.worldH;
  hook.endTick = endTick;
  hook.tick = matchTick;
  hook.timeLeftMs = timeLeftAt(matchTick);

  setState("playing", `in match ${matchId} (${mode})`);
  // The input loop starts at the first snapshot (see onSnapshot).
  stopInputLoop();
  S.inputLoopAwaitsSnapshot = true;
}

/**
 * Forgets what the page shows of the match it drew before (a player's or
 * a spectator's): hit flashes, tracers, names, scores and the counters of
 * its view.
 */
function forgetMatchView() {
  S.hitFlash.clear();
  S.tracers = [];
  clearNames();
  hook.snapshots = 0;
  hook.fullViews = 0;
  hook.scores = {};
  hook.away = {};
  hook.outcome = null;
  hook.standings = null;
}

/**
 * A spectator's matched: the match to draw (entity 0: no avatar of ours),
 * how far behind live it is and whom the view follows. Every one (the
 * first, and the answer to each switch) is followed by a full view. No
 * input is ever sent while spectating.
 */
function onSpectating(m) {
  if (!spectateWant || spectateWant.matchId !== m.matchId) return; // we left, or asked for another
  clearResumeWait();
  dropped = null;
  queueSent = false;
  stopInputLoop();
  const sameMatch = S.match !== null && S.match.id === m.matchId;
  const listed = hook.modes.find((x) => x.name === m.mode);
  const desc = describeMode({ ...m, title: listed ? listed.title : m.mode });
  S.match = {
    id: m.matchId, mode: m.mode, entityId: 0, tickRate: m.tickRate,
    worldW: desc.worldW, worldH: desc.worldH, desc, startTick: m.tick, endTick: m.endTick,
  };
  hook.description = desc;
  S.pending = [];
  S.history = [];
  S.resendQueue = [];
  S.pred = null;
  S.prevPred = null;
  S.snapshots = [];
  clearMirror();
  S.scoresVersion += 1;
  if (!sameMatch) forgetMatchView();
  hook.lastSnapshot = null;
  hook.entities = 0;
  hook.spectating = true;
  hook.follow = m.follow;
  hook.spectateDelayMs = m.delayMs;
  hook.matchId = m.matchId;
  hook.mode = m.mode;
  hook.entityId = 0;
  hook.score = 0;
  hook.tickRate = m.tickRate;
  hook.worldW = S.match.worldW;
  hook.worldH = S.match.worldH;
  hook.endTick = m.endTick;
  hook.tick = m.tick;
  hook.timeLeftMs = timeLeftAt(m.tick);
  setState("spectating", `spectating match ${m.matchId} (${m.mode}), ${(m.delayMs / 1000).toFixed(1)} s behind live`);
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
  const wentBack = ackSeq < S.ackHigh;
  const moved = !!(d && d.moved) || socketIsMove;
  if (ackSeq > S.seq) S.seq = ackSeq; // never reuse a seq the server has seen
  if (endTick) S.match.endTick = endTick;
  S.pending = S.history.filter((p) => p.seq > ackSeq);
  S.snapshots = [];
  clearMirror();
  S.scoresVersion += 1;
  // The jit state goes on (as the Go client): same seat, same seq
  // counter. On another node the tick phase is another: start it over.
  if (moved || wentBack) resetJit();
  hook.ackSeq = ackSeq;
  hook.lastSeq = S.seq;
  hook.tick = matchTick;
  hook.endTick = S.match.endTick;
  hook.timeLeftMs = timeLeftAt(matchTick);
  hook.resumed += 1;
  const since = d ? Math.round(performance.now() - d.at) : null;
  if (d && d.moved) hook.lastMoveMs = since;
  else hook.lastOutageMs = since;
  setState("playing", `in match ${S.match.id} (${S.match.mode}), resumed`);

  // A seat restored from a checkpoint takes up to 64 waiting inputs; a
  // seat held for us, 8.
  S.resendWindow = wentBack ? RESEND_WINDOW_RESTORED : RESEND_WINDOW;
  S.lastResentSeq = ackSeq;
  S.ackHigh = ackSeq;
  S.resendQueue = S.pending.slice();
  hook.lastResendFrom = S.resendQueue.length ? [S.resendQueue[0].seq, S.resendQueue[S.resendQueue.length - 1].seq] : null;
  flushResends();
  hook.pendingInputs = S.pending.length;
  // The input loop starts again at the first snapshot (see onSnapshot).
  stopInputLoop();
  S.inputLoopAwaitsSnapshot = true;
}

/**
 * Sends what the window allows of the resend queue, in `inputs` frames
 * ([5, [[seq, mx, my, buttons, aimX, aimY, viewTick?, viewFrac?], …]], at most MAX_BATCH each,
 * seqs increasing): at most resendWindow inputs sent again and not yet
 * acknowledged, so that none overflows the seat's input queue; more go
 * as acks come. Inputs acknowledged meanwhile are skipped.
 */
export function flushResends() {
  const ack = hook.ackSeq;
  while (S.resendQueue.length && S.resendQueue[0].seq <= ack) S.resendQueue.shift();
  if (!S.resendQueue.length) return;
  // Sent again and not acknowledged yet (seqs in (ack, lastResentSeq]).
  let inFlight = 0;
  for (const p of S.history) if (p.seq > ack && p.seq <= S.lastResentSeq) inFlight++;
  let room = S.resendWindow - inFlight;
  while (S.resendQueue.length && room > 0) {
    const batch = S.resendQueue.slice(0, Math.min(room, MAX_BATCH));
    const fields = (p) => (p.viewTick ? [p.seq, p.mx, p.my, p.buttons, p.aimX, p.aimY, p.viewTick, p.viewFrac]
      : [p.seq, p.mx, p.my, p.buttons, p.aimX, p.aimY]);
    if (!send([C_INPUTS, batch.map(fields)])) return;
    S.resendQueue.splice(0, batch.length);
    const now = performance.now();
    for (const p of batch) S.sentRing[p.seq % SENT_RING] = { seq: p.seq, at: now };
    S.lastResentSeq = batch[batch.length - 1].seq;
    room -= batch.length;
    hook.resends += batch.length;
    hook.resendFrames += 1;
  }
}

/** Time left (ms) at tick t: (endTick − t) / tickRate. */
export function timeLeftAt(t) {
  if (!S.match || !S.match.endTick) return 0;
  return Math.max(0, ((S.match.endTick - t) / S.match.tickRate) * 1000);
}
function onResult(msg) {
  // The end of a match we already left (the result crossed our leave).
  if (leaveSent) return;
  clearResumeWait();
  dropped = null;
  queueSent = false;
  stopInputLoop();
  S.pending = [];
  S.history = [];
  S.resendQueue = [];
  S.fireQueued = false;
  S.actQueued.clear();
  wantPlay = false;
  hook.historyInputs = 0;
  const outcome = num(msg[1]);
  const standings = decodeStandings(msg[2]);
  hook.outcome = outcome;
  hook.standings = standings;
  hook.pendingInputs = 0;

  for (const s of standings) if (s.entityId) setName(s.entityId, s.name);
  const mine = showResult(outcome, standings);
  const placeText = mine ? `you placed ${mine.place} of ${standings.length}` : "";
  const watched = spectateWant !== null;
  spectateWant = null; // a spectator is in the lobby once the match is over
  hook.spectating = false;
  setState("over", `match over${placeText ? ": " + placeText : ""}`);
  if (AUTOPLAY && !watched) {
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
  if ((code === E_SPECTATORS_FULL || code === E_UNKNOWN_MATCH || code === E_BUSY) && spectateWant) {
    // A spectate refused: back in the lobby (a switch refused while
    // watching leaves the watch as it was, which only busy could do).
    showError(`server: ${text} (${code})`);
    if (hook.state !== "spectating") {
      spectateWant = null;
      hook.spectating = false;
      forgetMatch();
      setState("lobby", `cannot spectate: ${text}`, true);
    }
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
export function leave() {
  if (send([C_LEAVE])) leaveSent = true;
  spectateWant = null;
  hook.spectating = false;
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

/** What the HUD's "net" shows: "connected", "connecting", "offline" (waiting for the network) or "–". */
export function netState() {
  if (waitingOnline) return "offline";
  return welcomed ? "connected" : ws ? "connecting" : "–";
}

/** Whether an input can go now: the socket is open and welcomed us. */
export function canSend() {
  return !!ws && welcomed && ws.readyState === WebSocket.OPEN;
}

/** Whether the current socket is open (inputs may be sent). */
export function socketOpen() {
  return !!ws && ws.readyState === WebSocket.OPEN;
}

/**
 * Closes the socket abruptly from the page (code 4999, not a goodbye): the
 * page treats it as a dropped connection and reconnects. (Tests.)
 */
export function dropSocket() {
  if (ws) ws.close(CLOSE_TEST_DROP, "test drop");
}

/** Called when the page goes away: no reconnection, a goodbye close. */
export function pageHide() {
  clearTimeout(reconnectTimer);
  closeByUs(1000, "bye");
}

/** Whether the current socket's welcome arrived. */
export function isWelcomed() {
  return welcomed;
}
