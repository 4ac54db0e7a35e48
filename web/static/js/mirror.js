/*
 * The mirror of the player's view (as netcode/mirror.go): snapshot diffs
 * applied to entities by per-view handle, and their dequantized values.
 */

import { S, num } from "./state.js";
import { UPDATE_XY } from "./protocol.js";
import { setName } from "./hud.js";

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
  for (const sc of rawScores) {
    if (!Array.isArray(sc) || sc.length < 2) return "malformed score";
    const id = num(sc[0]);
    S.scores.set(id, num(sc[1]));
    // [entityId, score, away]: away while the player's seat is held.
    if (sc.length > 2 && sc[2] === true) S.awayIds.add(id);
    else S.awayIds.delete(id);
    // [entityId, score, away, name]: the player's name, when the server sends it.
    if (sc.length > 3 && typeof sc[3] === "string") setName(id, sc[3]);
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
