/*
 * Snapshots: the mirror of the player's view (as netcode/mirror.go), diffs
 * applied to entities by per-view handle, and their dequantized values;
 * each snapshot's acks, rejects, events, scores and lead, handed to the
 * prediction and the HUD; the buffer the renderer interpolates.
 */

import { hook, S, num, SENT_RING, ACK_EWMA, TRACER_MS } from "./state.js";
import {
  UPDATE_XY, SNAP_FIXED, SNAP_RESET, SNAP_LEAD, SNAP_REJECTS, SNAP_EVENTS, SNAP_SCORES, SNAP_CREATES, SNAP_REMOVES,
  decodeScore,
} from "./protocol.js";
import { setName, showEvents } from "./hud.js";
import { reconcile, observeLead } from "./prediction.js";
import { resync, flushResends, timeLeftAt } from "./connection.js";

const SNAPSHOT_BUFFER_MS = 1000; // how much snapshot history to keep

// Adaptive interpolation, as the Go client's (client/interp.go; web's
// TestJSMirrorsNetcode checks these equal its constants). Others are drawn
// at a render time in server ticks that runs behind the server's estimated
// present by INTERP_INTERVALS snapshot intervals + INTERP_JITTER_MUL × the
// p95 of the snapshots' arrival jitter over the last INTERP_WINDOW
// arrivals (an arrival's offset against the tick clock, above the
// window's smallest), at most INTERP_MAX_DELAY_MS and at least 1 interval. The
// render clock runs up to INTERP_MAX_SKEW faster or slower than the page's
// clock (INTERP_GAIN per tick of error) until it meets its target; only an
// error beyond INTERP_SNAP_TICKS moves it at once.
export const INTERP_INTERVALS = 2;
export const INTERP_JITTER_MUL = 1.25;
export const INTERP_WINDOW = 64;
export const INTERP_MAX_SKEW = 0.05;
export const INTERP_GAIN = 0.1;
export const INTERP_SNAP_TICKS = 15;
export const INTERP_MAX_DELAY_MS = 500;

const clock = {
  dtMs: 1000 / 30, base: 0, baseTick: 0, offs: [], next: 0, minOff: 0, jitter: 0, delay: INTERP_INTERVALS,
  newest: 0, rt: 0, at: 0, rate: 1, running: false, primed: false,
};

/** Starts the render clock over (a new view: its buffer is empty). */
function resetInterp() {
  clock.dtMs = 1000 / (S.match && S.match.tickRate > 0 ? S.match.tickRate : 30);
  clock.offs = [];
  clock.next = 0;
  clock.running = false;
  clock.primed = false;
  clock.rate = 1;
}

/** Records the arrival of the snapshot of tick at now (ms). */
function observeArrival(tick, now) {
  const k = clock;
  if (k.offs.length === 0) {
    k.base = now;
    k.baseTick = tick;
  } else if (tick <= k.newest) {
    return;
  }
  k.newest = tick;
  const off = now - k.base - (tick - k.baseTick) * k.dtMs;
  if (k.offs.length < INTERP_WINDOW) k.offs.push(off);
  else k.offs[k.next] = off;
  k.next = (k.next + 1) % INTERP_WINDOW;
  const s = k.offs.slice().sort((a, b) => a - b);
  k.minOff = s[0];
  k.jitter = s[Math.ceil(0.95 * s.length) - 1] - k.minOff;
  const d = (INTERP_INTERVALS * k.dtMs + INTERP_JITTER_MUL * k.jitter) / k.dtMs;
  k.delay = Math.max(Math.min(d, INTERP_MAX_DELAY_MS / k.dtMs), 1); // 1 interval wins below 2 Hz
  hook.interpTargetMs = Math.round(k.delay * k.dtMs * 10) / 10;
  hook.arrivalJitterMs = Math.round(k.jitter * 10) / 10;
}

/**
 * Moves the render clock to now (ms) and returns the render time in ticks
 * (null before the first snapshot of the view).
 */
export function renderTime(now) {
  const k = clock;
  if (k.offs.length === 0) return null;
  const target = k.baseTick + (now - k.base - k.minOff) / k.dtMs - k.delay;
  if (!k.running) {
    k.rt = target;
    k.at = now;
    k.rate = 1;
    k.running = true;
    return k.rt;
  }
  if (now > k.at) {
    k.rt += ((now - k.at) / k.dtMs) * k.rate;
    k.at = now;
  }
  const e = target - k.rt;
  if (Math.abs(e) > INTERP_SNAP_TICKS) {
    k.rt = target;
    k.rate = 1;
    return k.rt;
  }
  k.rate = 1 + Math.min(Math.max(INTERP_GAIN * e, -INTERP_MAX_SKEW), INTERP_MAX_SKEW);
  return k.rt;
}

/**
 * Counts a frame drawn at render time rt (ticks), empty when no pair of
 * snapshots was around it: hook.frames, hook.emptyFrames (once the view's
 * buffer first filled), hook.interpDelayMs (how far behind the newest
 * snapshot the render time is).
 */
export function noteFrame(rt, empty) {
  if (!empty) clock.primed = true;
  if (!clock.primed || !S.snapshots.length) return;
  hook.frames += 1;
  if (empty) hook.emptyFrames += 1;
  const newest = S.snapshots[S.snapshots.length - 1].tick;
  hook.interpDelayMs = Math.round(Math.max(0, (newest - rt) * clock.dtMs) * 10) / 10;
}

/**
 * The view time an aimed input carries: the render time others are drawn
 * at now, clamped to the snapshots held, as [tick, fraction]; null before
 * the first snapshot.
 */
export function viewTime(now) {
  const rt = renderTime(now);
  const n = S.snapshots.length;
  if (rt === null || n === 0) return null;
  const r = Math.min(Math.max(rt, S.snapshots[0].tick), S.snapshots[n - 1].tick);
  const tick = Math.floor(r);
  // Tick 0 cannot be named (0: not given): the nearest time that can.
  if (tick < 1) return [1, 0];
  return [tick, r - tick];
}

export function clearMirror() {
  S.ents = [];
  S.byId = new Map();
  S.scores = new Map();
  S.awayIds = new Set();
}

export const isUint = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isInt = (v) => typeof v === "number" && Number.isInteger(v);

/**
 * Applies a snapshot's diff to the mirror: reset, scores, removes, creates,
 * updates (PROTOCOL.md §5). Returns null, or the text of the trouble when the
 * snapshot does not fit the mirror or is malformed.
 */
export function applyDiff(reset, rawScores, creates, updates, removes, moved) {
  const nv = 2 + S.match.desc.fields.length;
  if (reset) clearMirror();
  for (const raw of rawScores) {
    // [entityId, score, away, name?]: away while the player's seat is
    // held; the name the first time this view sends the player.
    const sc = decodeScore(raw);
    if (!sc) return "malformed score";
    S.scores.set(sc.id, sc.score);
    if (sc.away) S.awayIds.add(sc.id);
    else S.awayIds.delete(sc.id);
    if (sc.name !== null) setName(sc.id, sc.name);
  }
  for (const hv of removes) {
    const h = num(hv);
    const e = S.ents[h];
    if (!isUint(h) || !e) return `remove of unknown handle ${h}`;
    S.byId.delete(e.id);
    S.ents[h] = undefined;
  }
  for (const c of creates) {
    if (!Array.isArray(c) || c.length < 3 + nv) return "malformed create";
    const h = num(c[0]);
    if (!isUint(h)) return "malformed create handle";
    if (S.ents[h]) return `create over live handle ${h}`;
    const q = new Array(nv);
    for (let i = 0; i < nv; i++) {
      q[i] = num(c[3 + i]);
      if (!isInt(q[i])) return "malformed create value";
    }
    const e = { id: num(c[1]), kind: num(c[2]), q };
    S.ents[h] = e;
    S.byId.set(e.id, h);
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
    const e = S.ents[h];
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
export function dequantize(e) {
  const ps = S.match.desc.posScale;
  const nf = S.match.desc.fields.length;
  const fields = new Array(nf);
  for (let i = 0; i < nf; i++) fields[i] = e.q[2 + i] / S.match.desc.fields[i].scale;
  return {
    id: e.id,
    kind: e.kind,
    kindName: S.match.desc.kinds[e.kind] !== undefined ? S.match.desc.kinds[e.kind].name : String(e.kind),
    x: e.q[0] / ps,
    y: e.q[1] / ps,
    fields,
  };
}

/**
 * A snapshot [3, tick, ackSeq, flags, updates, …] of the current match:
 * the mirror, reconciliation, the just-in-time lead, the HUD's figures.
 */
export function onSnapshot(msg) {
  if (!S.match) return;
  // Snapshots only count in a match: not after leave/result, nor on a
  // reconnected socket before `matched` says the seat is ours again.
  if (hook.state !== "playing" && hook.state !== "spectating") return;

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
  if (reset || rawScores.length) S.scoresVersion += 1;

  // The mirror, dequantized.
  const view = new Map();
  const list = [];
  for (const e of S.ents) {
    if (!e) continue;
    const ent = dequantize(e);
    view.set(ent.id, ent);
    list.push(ent);
  }

  // Rejected inputs: they are already past ackSeq, so dropping pending
  // inputs below removes them; only count them.
  for (const r of rejects) {
    if (!Array.isArray(r)) continue;
    const code = num(r[1]);
    hook.rejects += 1;
    hook.rejectsByCode[code] = (hook.rejectsByCode[code] || 0) + 1;
  }

  showEvents(events);
  noteTracers(events, now);

  // Input-to-ack time of every input this snapshot acknowledges first.
  if (ackSeq > hook.ackSeq) {
    for (let q = Math.max(hook.ackSeq + 1, ackSeq - SENT_RING + 1); q <= ackSeq; q++) {
      const si = S.sentRing[q % SENT_RING];
      if (!si || si.seq !== q) continue;
      const ms = now - si.at;
      hook.lastAckMs = Math.round(ms * 100) / 100;
      hook.ackMs = hook.ackMs === null ? ms : hook.ackMs + ACK_EWMA * (ms - hook.ackMs);
    }
    if (hook.ackMs !== null) hook.ackMs = Math.round(hook.ackMs * 100) / 100;
  }

  // Just-in-time schedule: the lead is that of input ackSeq.
  if (lead !== null) observeLead(lead, ackSeq);

  // Reconciliation.
  if (ackSeq > S.seq) S.seq = ackSeq; // never reuse a seq the server has already seen
  if (ackSeq > S.ackHigh) S.ackHigh = ackSeq;
  let drop = 0;
  while (drop < S.pending.length && S.pending[drop].seq <= ackSeq) drop++;
  if (drop) S.pending.splice(0, drop);

  const own = view.get(S.match.entityId);
  if (own) reconcile(own, now);

  // Interpolation buffer (positions by entity id), and the render clock.
  if (!S.snapshots.length) resetInterp();
  observeArrival(tick, now);
  S.snapshots.push({ t: now, tick, ents: view, moved });
  while (S.snapshots.length > 2 && now - S.snapshots[1].t > SNAPSHOT_BUFFER_MS) S.snapshots.shift();

  const table = {};
  for (const [id, sc] of S.scores) table[id] = sc;
  if (reset || rawScores.length) {
    const away = {};
    for (const id of S.awayIds) away[id] = true;
    hook.away = away;
  }

  hook.tick = tick;
  hook.ackSeq = ackSeq;
  // Acks make room for more inputs still to send again.
  if (S.resendQueue.length) flushResends();
  hook.timeLeftMs = timeLeftAt(tick);
  hook.entities = S.byId.size;
  hook.scores = table;
  hook.score = S.scores.has(S.match.entityId) ? S.scores.get(S.match.entityId) : 0;
  hook.pendingInputs = S.pending.length;
  hook.snapshots += 1;
  hook.lastSnapshot = {
    tick,
    ackSeq,
    timeLeftMs: hook.timeLeftMs,
    rejects: rejects.map((r) => (Array.isArray(r) ? [num(r[0]), num(r[1])] : r)),
    events: events.map((e) => (Array.isArray(e) ? e.map(num) : e)),
    scores: Array.from(S.scores, ([id, sc]) => [id, sc]),
    scoreChanges: rawScores.map((sc) => (Array.isArray(sc) ? [num(sc[0]), num(sc[1])] : sc)),
    reset,
    creates: creates.length,
    updates: countUpdates(updates),
    removes: removes.length,
    lead,
    entities: list,
  };
}

/**
 * Keeps the mode's "hitscan" events to draw: a brief line from A to B,
 * for TRACER_MS (older ones go here too, so that they never pile up while
 * no frame is drawn: a hidden tab).
 */
function noteTracers(events, now) {
  while (S.tracers.length && now - S.tracers[0].at > TRACER_MS) S.tracers.shift();
  const d = S.match.desc.events.find((e) => e.name === "hitscan");
  if (!d) return;
  for (const ev of events) {
    if (Array.isArray(ev) && num(ev[0]) === d.type) S.tracers.push({ a: num(ev[1]), b: num(ev[2]), at: now });
  }
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
