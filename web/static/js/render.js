/*
 * Rendering: the camera following the own avatar, the world, every other
 * entity interpolated at the render time (mirror.js: about two snapshot
 * intervals plus the arrival jitter behind the newest), the own avatar at its predicted
 * position, the aim line and the minimap, each entity drawn from its kind
 * in the mode description (shape, colour or its team's, size, label,
 * marks; a player's immobile avatar dimmed).
 */

import { hook, S, canvas, ctx, clamp, TRACER_MS } from "./state.js";
import { isImmobile, teamOf } from "./mode.js";
import { ownDrawPos } from "./prediction.js";
import { renderTime, noteFrame } from "./mirror.js";
import { entitiesAt } from "./interp.js";
import { updateHud, renderFeed, displayName } from "./hud.js";
import { input } from "./input.js";

const VIEW_SPAN = 1100; // world units visible across the smaller screen side
const SPECTATE_BARS = 130; // CSS pixels a spectator's status line and bar take (top and bottom)
const camera = { cx: 0, cy: 0, scale: 1, w: 0, h: 0 };

/**
 * Entities as they were at the render time (mirror.js's renderTime, in
 * ticks), placed between the snapshots around it (interp.js, as the Go
 * client); a frame drawn (count) is counted, and whether no pair was
 * around it (held).
 */
export function interpolatedEntities(now, count = false) {
  const n = S.snapshots.length;
  if (n === 0) return [];
  const rt = renderTime(now);
  if (rt === null) return [];
  if (count) noteFrame(rt, rt < S.snapshots[0].tick || rt > S.snapshots[n - 1].tick);
  return entitiesAt(S.snapshots, rt);
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

export function worldToScreen(x, y) {
  return { x: (x - camera.cx) * camera.scale + camera.w / 2, y: (y - camera.cy) * camera.scale + camera.h / 2 };
}
export function screenToWorld(sx, sy) {
  return { x: (sx - camera.w / 2) / camera.scale + camera.cx, y: (sy - camera.h / 2) / camera.scale + camera.cy };
}
function updateCamera(own, whole = false) {
  const W = S.match ? S.match.worldW : 2000;
  const H = S.match ? S.match.worldH : 2000;
  const minSide = Math.min(camera.w, camera.h) || 1;
  let scale = minSide / VIEW_SPAN;
  const fit = Math.min(camera.w / (W + 80), camera.h / (H + 80));
  if (fit > scale) scale = fit; // the whole world fits: show it all
  // A spectator watching it all: the whole world, clear of the status line and the bar under it.
  if (whole) scale = Math.min(camera.w / (W + 80), Math.max(camera.h - SPECTATE_BARS, 100) / (H + 80));
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

export function render() {
  const now = performance.now();
  resizeCanvas();
  const own = S.match ? ownDrawPos(now) : null;
  // A spectator's camera follows the avatar it follows, or shows the whole world.
  // Frames count only in a match or while watching one (not after a
  // result, nor while reconnecting or moving), as the Go client's.
  const counted = hook.state === "playing" || hook.state === "spectating";
  const ents = S.match && S.snapshots.length ? interpolatedEntities(now, counted) : [];
  const followed = hook.spectating && hook.follow ? ents.find((e) => e.id === hook.follow) || null : null;
  updateCamera(own || followed, hook.spectating && !followed);

  const W = S.match ? S.match.worldW : 2000;
  const H = S.match ? S.match.worldH : 2000;
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

  if (S.match && S.snapshots.length) {
    // By the kinds' order: largest kinds first, under the smaller ones.
    const kinds = S.match.desc.kinds;
    const order = (e) => (kinds[e.kind] ? kinds[e.kind].order : kinds.length);
    ents.sort((a, b) => order(a) - order(b));
    for (const e of ents) {
      if (e.id === S.match.entityId) continue;
      drawEntity(e, e.x, e.y, false, now);
    }
    // Own avatar at its predicted position.
    const latest = S.snapshots[S.snapshots.length - 1].ents.get(S.match.entityId);
    if (latest && own) drawEntity(latest, own.x, own.y, true, now);
    if (followed) drawFollowed(followed);
    drawAimLine(own);
    drawTracers(ents, own, now);
    drawMinimap(ents, own || followed);
  }

  if (hook.firstDrawMs === null) hook.firstDrawMs = Math.round(now * 10) / 10;
  if (hook.firstFrameMs === null && S.match && S.snapshots.length) hook.firstFrameMs = Math.round(now * 10) / 10;
  updateHud();
  renderFeed();
  requestAnimationFrame(render);
}

/**
 * The mode's "hitscan" events of the last TRACER_MS: a line from the
 * shooter to the target as drawn (the own avatar at its predicted
 * position), fading out.
 */
function drawTracers(ents, own, now) {
  while (S.tracers.length && now - S.tracers[0].at > TRACER_MS) S.tracers.shift();
  if (!S.tracers.length) return;
  const at = (id) => {
    if (id === S.match.entityId) return own;
    const e = ents.find((x) => x.id === id);
    return e ? e : null;
  };
  ctx.lineWidth = 2;
  for (const tr of S.tracers) {
    const a = at(tr.a);
    const b = at(tr.b);
    if (!a || !b) continue;
    const pa = worldToScreen(a.x, a.y);
    const pb = worldToScreen(b.x, b.y);
    ctx.strokeStyle = `rgba(255, 240, 160, ${(1 - (now - tr.at) / TRACER_MS).toFixed(3)})`;
    ctx.beginPath();
    ctx.moveTo(pa.x, pa.y);
    ctx.lineTo(pb.x, pb.y);
    ctx.stroke();
  }
}

/** #rrggbb scaled by f (0: black, 1: itself). */
function shade(hex, f) {
  const v = parseInt(hex.slice(1), 16);
  const c = (sh) => Math.round(((v >> sh) & 255) * f);
  return `rgb(${c(16)}, ${c(8)}, ${c(0)})`;
}

/** The path of shape at p with radius r. */
function shapePath(shape, p, r) {
  ctx.beginPath();
  switch (shape) {
    case "square":
      ctx.rect(p.x - r, p.y - r, 2 * r, 2 * r);
      break;
    case "triangle":
      ctx.moveTo(p.x, p.y - r);
      ctx.lineTo(p.x + r * 0.866, p.y + r * 0.5);
      ctx.lineTo(p.x - r * 0.866, p.y + r * 0.5);
      ctx.closePath();
      break;
    case "diamond":
      ctx.moveTo(p.x, p.y - r);
      ctx.lineTo(p.x + r, p.y);
      ctx.lineTo(p.x, p.y + r);
      ctx.lineTo(p.x - r, p.y);
      ctx.closePath();
      break;
    default: // circle, ring
      ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
  }
}

const OWN_FILL = "#4fdc7c";
const OWN_STROKE = "#e8fff0";

const UNKNOWN_KIND = { shape: "circle", color: "#9aa7b4", size: 10, label: -1, team: -1, meter: -1, meterMax: 0 };
const MARK_COLOR = "#ff4d5a";

/**
 * Draws entity e at (x, y) as its kind declares (see mode.js): shape,
 * colour (its team's when it has one), size and label; a ring and the
 * field's name after the label for a mark field that is not 0; the own
 * avatar in green, a player's immobile avatar and players away dimmed.
 */
function drawEntity(e, x, y, isOwn, now) {
  const desc = S.match.desc;
  const k = desc.kinds[e.kind] || UNKNOWN_KIND;
  const p = worldToScreen(x, y);
  const r = Math.max(2, k.size * camera.scale);
  if (p.x < -50 || p.y < -50 || p.x > camera.w + 50 || p.y > camera.h + 50) return;

  const isPlayer = isOwn || S.scores.has(e.id);
  const faded = isPlayer && isImmobile(desc, e);
  const away = !isOwn && S.awayIds.has(e.id);
  const alpha = faded || away ? 0.3 : 1;
  const team = teamOf(desc, k, e);
  const color = team ? team.color : k.color;
  // Mark fields that are not 0 (tag's "it", ctf's "carrying"), on labelled entities.
  const marks = k.label === -1 ? [] : desc.marks.filter((i) => e.fields[i] !== 0 && e.fields[i] !== undefined);

  ctx.save();
  ctx.globalAlpha = alpha;
  shapePath(k.shape, p, r);
  if (k.shape === "ring") {
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(2, r / 3);
    ctx.stroke();
    if (isOwn) {
      ctx.strokeStyle = OWN_STROKE;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
  } else {
    // The own avatar: its team's colour in a team mode, else green; always
    // with a light outline.
    ctx.fillStyle = isOwn && !team ? OWN_FILL : color;
    ctx.strokeStyle = isOwn ? OWN_STROKE : shade(color, 0.45);
    ctx.lineWidth = isOwn ? 3 : 2;
    ctx.fill();
    ctx.stroke();
  }

  if (marks.length) {
    ctx.strokeStyle = MARK_COLOR;
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(p.x, p.y, r + 5, 0, Math.PI * 2);
    ctx.stroke();
  }

  const flashAt = S.hitFlash.get(e.id);
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

  // The declared meter (hp): a bar under the entity, while it is above 0.
  const mv = k.meter >= 0 ? e.fields[k.meter] : undefined;
  if (mv > 0 && !away) {
    const w = Math.max(16, 2 * r), f = Math.min(1, mv / k.meterMax);
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.fillRect(p.x - w / 2, p.y - r - 8, w, 4);
    ctx.fillStyle = f > 0.5 ? "#6fdc8c" : f > 0.25 ? "#f1c84b" : "#ef5a5a";
    ctx.fillRect(p.x - w / 2, p.y - r - 8, w * f, 4);
  }

  if (k.label !== -1) {
    let label = k.label === -2 ? displayName(e.id) : formatField(e.fields[k.label]);
    for (const i of marks) label += e.fields[i] === 1 ? ` (${desc.fields[i].name})` : ` (${desc.fields[i].name} ${formatField(e.fields[i])})`;
    if (away) label += " (away)";
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillStyle = isOwn ? "#bff5cf" : away ? "#6f7d8a" : "#b8c6d4";
    ctx.fillText(label, p.x, p.y + r + 4);
  }
}

/** A spectator's followed avatar: a dashed ring around it. */
function drawFollowed(e) {
  const k = S.match.desc.kinds[e.kind] || UNKNOWN_KIND;
  const p = worldToScreen(e.x, e.y);
  ctx.save();
  ctx.strokeStyle = "#e8fff0";
  ctx.setLineDash([5, 4]);
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(p.x, p.y, Math.max(2, k.size * camera.scale) + 7, 0, Math.PI * 2);
  ctx.stroke();
  ctx.restore();
}

function formatField(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function drawAimLine(own) {
  const mouse = input.mouseScreen;
  if (!own || !mouse || hook.state !== "playing" || S.ownDead || !S.match.desc.actions.some((a) => a.aimed)) return;
  const p = worldToScreen(own.x, own.y);
  ctx.save();
  ctx.strokeStyle = "rgba(255, 255, 255, 0.12)";
  ctx.setLineDash([4, 6]);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(p.x, p.y);
  ctx.lineTo(mouse.x, mouse.y);
  ctx.stroke();
  ctx.restore();
}

function drawMinimap(ents, own) {
  const size = 150;
  const W = S.match.worldW || 1;
  const H = S.match.worldH || 1;
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
  const kinds = S.match.desc.kinds;
  for (const e of ents) {
    // Small things (shots) are not worth a dot.
    const kd = kinds[e.kind];
    if ((kd && kd.size < 6) || e.id === S.match.entityId) continue;
    const team = kd ? teamOf(S.match.desc, kd, e) : null;
    ctx.fillStyle = team ? team.color : kd ? kd.color : "#9aa7b4";
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
