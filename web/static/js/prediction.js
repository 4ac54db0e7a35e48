/*
 * Prediction: the own avatar moved by the mode's own Go code (WebAssembly,
 * web/predict) as inputs go, reconciled with every snapshot; the input
 * loop that sends one input per tick on the just-in-time schedule
 * (PROTOCOL.md §11, as client/jit.go); the inputs kept for resending.
 */

import { hook, S, clamp, lerp, SENT_RING } from "./state.js";
import { C_INPUT } from "./protocol.js";
import { send, flushResends, isWelcomed, socketOpen } from "./connection.js";
import { recordError, showNotice } from "./hud.js";
import { input, readMove, mouseWorld } from "./input.js";
import { isImmobile } from "./mode.js";
import { viewTime } from "./mirror.js";

// Just-in-time inputs (PROTOCOL.md §11): netcode/seq.go's constants,
// which web/mirror_test.go holds these to, but for the two marked
// "browser": a browser's timers fire later and less evenly than the Go
// client's, so its margin may grow larger.
const JIT_GAIN = 0.5;             // share of the lead error corrected per fresh report
const JIT_EWMA = 0.1;             // moving average factor of the jitter estimate
const JIT_MIN_TARGET_US = 2000;   // µs
const JIT_MAX_TARGET_US = 15000;  // µs (also at most half a tick); browser (Go: 8000)
const JIT_MAX_SAMPLE_US = 10000;  // µs: cap of one jitter sample; browser (Go: 3000)
const JIT_STALE_MIN_US = 1000;    // µs: smaller shifts do not make reports stale
const JIT_MISS_BOOST_US = 500;    // µs added to the margin per missed tick
const JIT_MAX_BOOST_US = 2000;    // µs
const FIRST_MARGIN_MS = 8;        // the first input of a match aims this long before the next tick
// Inputs sent are kept this long (at least two checkpoint intervals of 1 s),
// acknowledged or not: a seat restored from a checkpoint may have lost
// inputs the old host had acknowledged, and they are sent again.
const HISTORY_MS = 3000;
const HISTORY_MAX = 1024;        // and never more than this many
// Aim vectors shorter than this (world units) are sent as (0, 0).
const MIN_AIM = 1e-3;

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
let inputTimer = null;
let nextInputAt = 0;       // performance.now() time of the next input send

// ---------------------------------------------------------------------------
// The predictor: the modes' own Go movement code compiled to WebAssembly
// (web/predict), loaded at boot. Its global API, skirmishPredict, is
// configure({mode, speed, tickRate, worldW, worldH, immobile}), step(x, y, mx, my),
// replay(x, y, [mx0, my0, …]) and canMove(kind, fields). If it cannot load,
// the page says so (a notice that stays) and predicts with the JavaScript
// rule below, with the same declared immobility rule.
// ---------------------------------------------------------------------------

const WASM_URL = "wasm/predict.wasm";
const WASM_EXEC_URL = "wasm/wasm_exec.js"; // the Go toolchain's, of the Go that built predict.wasm
const WASM_READY_MS = 10000;

let wasm = null;           // skirmishPredict while the WebAssembly predictor is in use

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = src;
    tag.onload = resolve;
    tag.onerror = () => reject(new Error(`${src} did not load`));
    document.head.appendChild(tag);
  });
}

async function loadWasm() {
  if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
  await loadScript(WASM_EXEC_URL);
  if (typeof globalThis.Go !== "function") throw new Error(`${WASM_EXEC_URL} defines no Go`);
  const res = await fetch(WASM_URL);
  if (!res.ok) throw new Error(`${WASM_URL}: HTTP ${res.status}`);
  const go = new globalThis.Go();
  const { instance } = await WebAssembly.instantiateStreaming(res, go.importObject);
  let timer = null;
  const ready = new Promise((resolve, reject) => {
    globalThis.skirmishPredictReady = resolve;
    timer = setTimeout(() => reject(new Error(`not ready after ${WASM_READY_MS / 1000} s`)), WASM_READY_MS);
  });
  // main sets skirmishPredict, calls skirmishPredictReady and stays alive:
  // run's promise settles only if the program exits.
  go.run(instance).then(() => {
    if (wasm) predictorFailed("the WebAssembly predictor exited");
  });
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  const api = globalThis.skirmishPredict;
  if (!api || typeof api.step !== "function") throw new Error("skirmishPredict is missing");
  return api;
}

function predictorFailed(why) {
  wasm = null;
  hook.predictor = "js";
  hook.predictorError = why;
  recordError("predictor", 0, why);
  showNotice(`Prediction: the WebAssembly module could not run (${why}). ` +
    "Your moves are predicted in JavaScript; the server corrects them.");
}

/** Settles once the predictor is known: WebAssembly, or the fallback. */
export const predictorReady = loadWasm().then((api) => {
  wasm = api;
  hook.predictor = "wasm";
  hook.predictorReadyMs = Math.round(performance.now() * 10) / 10;
  hook.predictorError = null;
  hook.predictorVersion = String(api.version || "");
}, (err) => predictorFailed(String(err && err.message || err)));

/**
 * Gives the predictor the match's parameters, all from matched (its mode
 * description): immobile is [] or [field, min, max].
 */
export function configurePredictor(desc) {
  if (!wasm) return;
  const im = desc.immobile;
  const err = wasm.configure({ mode: desc.name, speed: desc.speed, tickRate: desc.tickRate,
    worldW: desc.worldW, worldH: desc.worldH, immobile: im ? [im.field, im.min, im.max] : [] });
  if (err !== null && err !== undefined) predictorFailed(`configure: ${err}`);
}

/** The own avatar after one tick's move (mx, my) from (x, y). */
function stepMove(x, y, mx, my) {
  if (wasm) {
    const p = wasm.step(x, y, mx, my);
    return { x: p[0], y: p[1] };
  }
  return jsStep(x, y, mx, my);
}

/**
 * Whether inputs move the own avatar own: the declared immobility rule
 * (the mode's Spec.CanMove), in Go or in JavaScript.
 */
function canMove(own) {
  return wasm ? wasm.canMove(own.kind, own.fields) : !isImmobile(S.match.desc, own);
}

/**
 * The fallback: the server's movement rule (game.Move) in JavaScript. x +=
 * mx*speed*dt; y += my*speed*dt; then clamp to the world, every operation
 * rounded to float32 as the Go server's.
 */
function jsStep(x, y, mx, my) {
  const d = S.match.desc;
  const f = Math.fround;
  const sp = f(d.speed);
  const dt = f(1 / d.tickRate);
  x = f(f(x) + f(f(f(mx) * sp) * dt));
  y = f(f(y) + f(f(f(my) * sp) * dt));
  x = clamp(x, 0, f(d.worldW));
  y = clamp(y, 0, f(d.worldH));
  return { x, y };
}

// ---------------------------------------------------------------------------
// Reconciliation and the just-in-time schedule, per snapshot
// ---------------------------------------------------------------------------

/**
 * A snapshot's own avatar: the server's position, with every input it has
 * not applied yet (S.pending, already cut at its ackSeq) replayed on it.
 */
export function reconcile(own, now) {
  hook.server = { x: own.x, y: own.y };
  S.ownDead = !canMove(own);
  let x = own.x;
  let y = own.y;
  if (!S.ownDead && S.pending.length) {
    if (wasm) {
      const moves = new Array(2 * S.pending.length);
      for (let i = 0; i < S.pending.length; i++) {
        moves[2 * i] = S.pending[i].mx;
        moves[2 * i + 1] = S.pending[i].my;
      }
      [x, y] = wasm.replay(x, y, moves);
    } else {
      for (const p of S.pending) ({ x, y } = jsStep(x, y, p.mx, p.my));
    }
  }
  // Size of the correction (0 when the prediction matched the server).
  hook.correction = S.pred ? Math.hypot(x - S.pred.x, y - S.pred.y) : 0;
  if (S.pred && S.prevPred) {
    // Shift the drawing start point by the same correction.
    S.prevPred = { x: S.prevPred.x + (x - S.pred.x), y: S.prevPred.y + (y - S.pred.y) };
  } else {
    S.prevPred = { x, y };
  }
  S.pred = { x, y };
  hook.predicted = { x, y };
  hook.dead = S.ownDead;
  if (S.inputLoopAwaitsSnapshot) {
    // The first snapshot of a match (or of a resumed seat) marks the
    // server's tick phase: it left just after a tick began. The first
    // input goes FIRST_MARGIN_MS before the next tick (half a tick at
    // high rates), clear of the delays between that tick and this
    // snapshot; the jit controller refines it.
    S.inputLoopAwaitsSnapshot = false;
    const dt = 1000 / S.match.tickRate;
    startInputLoop(now + Math.max(dt - FIRST_MARGIN_MS, dt / 2));
  }
}

/** A snapshot's lead (µs) of input ackSeq, for the just-in-time schedule. */
export function observeLead(lead, ackSeq) {
  jitObserve(lead, ackSeq, S.match.tickRate);
  // Moving average of every reported lead, for display only.
  jit.avg = jit.avgN === 0 ? lead : jit.avg + JIT_EWMA * (lead - jit.avg);
  jit.avgN += 1;
  hook.leadUs = lead;
  hook.leadAvgUs = Math.round(jit.avg);
  hook.leadDevUs = Math.round(jit.dev);
  hook.targetLeadUs = Math.round(jit.target);
}
export function resetJit() {
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

// ---------------------------------------------------------------------------
// Input loop: one input per tick, predicted as it goes
// ---------------------------------------------------------------------------

/**
 * One input per tick on a timer of period 1/tickRate whose schedule slides
 * by the just-in-time rule (as the Go client's inputLoop): each send moves
 * the next send time by one period plus the part of the shift it may take;
 * a schedule that fell behind (background tab, long pause) restarts from
 * now instead of sending a burst.
 */
export function startInputLoop(first) {
  stopInputLoop();
  if (!S.match) return;
  nextInputAt = first;
  inputTimer = setTimeout(inputLoopStep, Math.max(0, first - performance.now()));
}

export function stopInputLoop() {
  clearTimeout(inputTimer);
  inputTimer = null;
}

function inputLoopStep() {
  inputTimer = null;
  if (!S.match || hook.state !== "playing" || !isWelcomed()) return;
  try {
    if (S.pred) tickInput(performance.now());
  } finally {
    // The shift moves the next send, so it applies to the next new input:
    // seq + 1 after this step (as the Go client's take(dt, c.seq+2) before
    // its increment).
    const dtUs = Math.floor(1e6 / S.match.tickRate);
    const shift = jitTake(dtUs, S.seq + 1);
    hook.scheduleShiftMs = Math.round((hook.scheduleShiftMs + shift) * 1000) / 1000;
    nextInputAt += 1000 / S.match.tickRate + shift;
    const now = performance.now();
    if (nextInputAt < now) nextInputAt = now; // far behind: don't burst
    inputTimer = setTimeout(inputLoopStep, nextInputAt - now);
  }
}

function tickInput(now) {
  if (!socketOpen()) return;
  // Inputs still to send again after a resume go first (no new input,
  // so no seq is used, this tick).
  if (S.resendQueue.length) {
    flushResends();
    if (S.resendQueue.length) return;
  }
  // Flow control: the server keeps at most 8 inputs waiting; if far more
  // than a round trip's worth are unacknowledged, skip this tick (without
  // using a seq: seqs are never skipped).
  const period = 1000 / S.match.tickRate;
  const inFlight = Math.ceil((hook.rttMs !== null ? hook.rttMs : 200) / period) + 8;
  if (S.pending.length > inFlight) return;

  const { mx, my } = readMove();
  let buttons = 0;
  let aimX = 0;
  let aimY = 0;
  // The declared actions: "fire" on click or hold, the others on keys 1..7
  // (in their declared order, see input.js). Cooldown: the server rejects
  // an action less than cooldownTicks ticks after its last one, and
  // applies at most one input per tick, so it is safe once cooldownTicks
  // inputs (this one included) have been sent since the last.
  const d = S.match.desc;
  let aimed = false;
  for (const a of d.actions) {
    const isFire = a.name === "fire";
    const wants = isFire ? S.fireQueued || input.mouseDown : S.actQueued.has(a.bit);
    if (!wants || S.ownDead || S.seq + 1 - S.lastActSeq[a.bit] < a.cooldownTicks) continue;
    buttons |= 1 << a.bit;
    if (a.aimed) aimed = true;
    S.lastActSeq[a.bit] = S.seq + 1;
    if (isFire) {
      S.fireQueued = false;
      hook.shotsFired += 1;
    } else {
      S.actQueued.delete(a.bit);
    }
  }
  // This input's move, predicted once: the server moves the avatar, then
  // acts, so an aimed action aims from the stepped position (as the Go
  // client), and the prediction below takes it.
  const stepped = S.pred && !S.ownDead ? stepMove(S.pred.x, S.pred.y, mx, my) : S.pred;
  if (aimed) {
    const from = stepped || hook.server;
    const aim = mouseWorld();
    if (aim) {
      const dir = aimDirection(aim.x - from.x, aim.y - from.y);
      aimX = dir.x;
      aimY = dir.y;
    }
    hook.lastAim = [aimX, aimY];
  }

  // An aimed input carries its view time: the tick and fraction others
  // are drawn at now (elements 8 and 9 of the input; PROTOCOL.md).
  const view = aimed ? viewTime(now) : null;
  S.seq += 1;
  if (hook.seatFirstSeq === null) hook.seatFirstSeq = S.seq;
  const sent = { seq: S.seq, mx, my, buttons, aimX, aimY, at: now };
  if (view && view[0] > 0) {
    sent.viewTick = view[0];
    sent.viewFrac = view[1];
    hook.lastView = view;
    send([C_INPUT, S.seq, mx, my, buttons, aimX, aimY, view[0], view[1]]);
  } else {
    send([C_INPUT, S.seq, mx, my, buttons, aimX, aimY]);
  }
  S.pending.push(sent);
  keepInput(sent, now);
  S.sentRing[S.seq % SENT_RING] = { seq: S.seq, at: performance.now() };

  // Prediction.
  if (S.pred && !S.ownDead) {
    S.prevPred = S.pred;
    S.pred = stepped;
    hook.predicted = { x: S.pred.x, y: S.pred.y };
  } else if (S.pred) {
    S.prevPred = S.pred;
  }
  S.lastInputAt = now;
  hook.lastSeq = S.seq;
  hook.inputsSent += 1;
  hook.pendingInputs = S.pending.length;
}

/**
 * Keeps an input sent for HISTORY_MS (at least two checkpoint intervals),
 * acknowledged or not: a seat restored from a checkpoint may go back
 * before it. Older inputs go, unless still unacknowledged.
 */
function keepInput(input, now) {
  S.history.push(input);
  let drop = 0;
  while (drop < S.history.length - 1 && (S.history.length - drop > HISTORY_MAX ||
      (now - S.history[drop].at > HISTORY_MS && S.history[drop].seq <= hook.ackSeq))) drop++;
  if (drop) S.history.splice(0, drop);
  hook.historyInputs = S.history.length;
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
export function ownDrawPos(now) {
  if (!S.pred) return null;
  if (S.ownDead || !S.prevPred || !S.match) return S.pred;
  const period = 1000 / S.match.tickRate;
  const t = clamp((now - S.lastInputAt) / period, 0, 1);
  return { x: lerp(S.prevPred.x, S.pred.x, t), y: lerp(S.prevPred.y, S.pred.y, t) };
}
