/*
 * Snapshots: the mirror of the player's view (as netcode/mirror.go), diffs
 * applied to entities by per-view handle, and their dequantized values;
 * each snapshot's acks, rejects, events, scores and lead, handed to the
 * prediction and the HUD; the buffer the renderer interpolates.
 */

import { hook, S, num, SENT_RING, ACK_EWMA } from "./state.js";
import {
  UPDATE_XY, SNAP_FIXED, SNAP_RESET, SNAP_LEAD, SNAP_REJECTS, SNAP_EVENTS, SNAP_SCORES, SNAP_CREATES, SNAP_REMOVES,
  decodeScore,
} from "./protocol.js";
import { setName, showEvents } from "./hud.js";
import { reconcile, observeLead } from "./prediction.js";
import { resync, flushResends, timeLeftAt } from "./connection.js";

const SNAPSHOT_BUFFER_MS = 1000; // how much snapshot history to keep

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

  // Interpolation buffer (positions by entity id).
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
