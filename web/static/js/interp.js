/*
 * Where others are drawn at a render time: between the snapshots around
 * it, as the Go client's client/mirror.go places them (the same rules; a
 * module of its own with no page state, so that Node can test it).
 *
 * A snapshot here is { tick, ents: Map id -> {id, kind, kindName, x, y,
 * fields}, moved: Set of the ids whose position it set }, oldest first.
 */

// Entities far from the avatar are updated every 3rd tick only (§10): two
// position changes at most this many ticks apart are interpolated across,
// and past its last change such an entity is moved on while its next one
// is due (see extrapolated).
export const SPARSE_UPDATE_TICKS = 3;
export const JUMP_DISTANCE = 300; // |dx| + |dy| beyond which a move is a jump, not slid across (netcode.JumpDistance)

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

/**
 * Entity eb placed at a over ea -> eb's position (netcode.Lerp): a straight
 * slide, except across a jump, at ea's place for the first half and eb's
 * for the second; eb's other values.
 */
function lerpEntity(ea, eb, pos, t) {
  if (Math.abs(pos.x - ea.x) + Math.abs(pos.y - ea.y) > JUMP_DISTANCE) {
    return t < 0.5 ? { ...eb, x: ea.x, y: ea.y } : { ...eb, x: pos.x, y: pos.y };
  }
  return { ...eb, x: ea.x + (pos.x - ea.x) * t, y: ea.y + (pos.y - ea.y) * t };
}

/**
 * The position of entity id at render time rt moved on from its last
 * change (snapshot k0, tick t0, at or before rt) when no later change has
 * arrived and its next one is still due: at the velocity from its previous
 * change (tick tp, t0 - tp <= SPARSE_UPDATE_TICKS), while the newest
 * snapshot is less than t0 - tp after t0, by rt - t0 (at most
 * SPARSE_UPDATE_TICKS). null (hold) across a jump, without a previous
 * change within SPARSE_UPDATE_TICKS, or once the next change was due
 * (the entity stopped).
 */
function extrapolated(snaps, k0, id, rt) {
  const n = snaps.length;
  const s0 = snaps[k0];
  if (!s0.moved.has(id)) return null;
  const t0 = s0.tick;
  if (snaps[n - 1].tick - t0 >= SPARSE_UPDATE_TICKS) return null;
  let kp = k0 - 1;
  while (kp >= 0 && t0 - snaps[kp].tick <= SPARSE_UPDATE_TICKS && !snaps[kp].moved.has(id)) kp--;
  if (kp < 0 || t0 - snaps[kp].tick > SPARSE_UPDATE_TICKS) return null;
  const gap = t0 - snaps[kp].tick;
  if (snaps[n - 1].tick - t0 >= gap) return null; // its next change was due and did not come
  for (let k = k0 + 1; k < n; k++) if (snaps[k].moved.has(id)) return null; // a later change arrived
  const e0 = s0.ents.get(id);
  const ep = snaps[kp].ents.get(id);
  if (!e0 || !ep) return null;
  const dx = e0.x - ep.x;
  const dy = e0.y - ep.y;
  if (Math.abs(dx) + Math.abs(dy) > JUMP_DISTANCE) return null;
  const s = clamp(rt - t0, 0, SPARSE_UPDATE_TICKS) / gap;
  return { x: e0.x + dx * s, y: e0.y + dy * s };
}

/**
 * The entities of the snapshots snaps (oldest first) as drawn at render
 * time rt (ticks): between the two snapshots around it; at or past the
 * newest, as of the newest (an entity updated every few ticks moved on);
 * before the oldest, as of the oldest.
 */
export function entitiesAt(snaps, rt) {
  const n = snaps.length;
  if (n === 0) return [];
  const first = snaps[0];
  const last = snaps[n - 1];
  if (rt < first.tick) return Array.from(first.ents.values());
  let ia = n - 1;
  let ib = n - 1;
  if (rt < last.tick) {
    while (ia > 0 && snaps[ia].tick > rt) ia--;
    ib = ia + 1;
  } else {
    rt = last.tick;
  }
  const a = snaps[ia];
  const b = snaps[ib];
  const f = ib > ia ? (rt - a.tick) / (b.tick - a.tick) : 0;
  const out = [];
  for (const eb of b.ents.values()) {
    const id = eb.id;
    const ea = a.ents.get(id);
    if (!ea || ea.kind !== eb.kind) {
      out.push(eb); // new in view: as it is
      continue;
    }
    // An entity updated only every few ticks (far from the avatar) holds
    // still between its updates: slide it from one position change to the
    // next instead, when they are at most SPARSE_UPDATE_TICKS apart, or
    // move it on past its last change while the next is due.
    if (!b.moved.has(id) || !a.moved.has(id)) {
      let k0 = ia;
      while (k0 > 0 && !snaps[k0].moved.has(id) && a.tick - snaps[k0].tick < SPARSE_UPDATE_TICKS) k0--;
      let k1 = ib;
      while (k1 < n - 1 && !snaps[k1].moved.has(id) && snaps[k1].tick - b.tick < SPARSE_UPDATE_TICKS) k1++;
      const s0 = snaps[k0];
      const s1 = snaps[k1];
      const e0 = s0.ents.get(id);
      const e1 = s1.ents.get(id);
      if (s0.moved.has(id) && s1.moved.has(id) && s1.tick - s0.tick <= SPARSE_UPDATE_TICKS && e0 && e1) {
        const span = s1.tick - s0.tick;
        out.push(lerpEntity(e0, eb, e1, span > 0 ? clamp((rt - s0.tick) / span, 0, 1) : 1));
        continue;
      }
      const p = extrapolated(snaps, k0, id, rt);
      if (p) {
        out.push({ ...eb, x: p.x, y: p.y });
        continue;
      }
    }
    out.push(lerpEntity(ea, eb, eb, f));
  }
  return out;
}
