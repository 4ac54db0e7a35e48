/*
 * The mode description: everything the page needs to predict and draw a
 * mode, built from `matched` alone (PROTOCOL.md §5, §14). The page has no
 * code and no numbers of its own for any mode: arena, tag, ctf or a mode
 * registered tomorrow are drawn and predicted from what they declare. The
 * rest of the page reads only this object (match.desc):
 *
 *   {name, title, tickRate, worldW, worldH, posScale,
 *    speed, avatarRadius, interestRadius,
 *    actions:  [{bit, name, cooldownTicks, aimed}],
 *    kinds:    [{name, shape: "circle"|"square"|"triangle"|"diamond"|"ring",
 *               color: "#rrggbb", size, label, team, meter, meterMax, order}],
 *    fields:   [{name, scale}],
 *    events:   [{type, name, a, b}],
 *    teams:    [{name, color}],
 *    immobile: null | {field, min, max},
 *    marks:    [field index…]}
 *
 * As declared: a kind's label is the index of the field drawn under it, -1
 * for none, or -2 for the name of the player whose avatar it is; team is
 * the index of the field holding its team number (n from 1: teams[n−1],
 * which then colours it; 0: none), or -1; meter, when meterMax is above 0,
 * is the index of the field drawn as a bar under it, full at meterMax (hp
 * out of 100), else -1. An event's a and b say what its
 * two numbers hold ("player", "entity", "value" or "" for nothing).
 *
 * Derived, the same way for every mode:
 * - order: drawing order of the kinds, largest first (bases under flags
 *   under players under shots);
 * - immobile: a player's avatar whose immobile field is in [min, max] is
 *   drawn dimmed (arena and ctf: dead) and not predicted to move;
 * - marks: the fields that are neither a label, a team, a meter nor the
 *   immobile field; a labelled entity with such a field at a non-zero value is
 *   ringed and the field's name follows its label (tag: "alice (it)",
 *   ctf: "bob (carrying)").
 */

import { num } from "./state.js";

const SHAPES = new Set(["circle", "square", "triangle", "diamond", "ring"]);
const GREY = "#9aa7b4";
const DEFAULT_SIZE = 10;

/**
 * The description of the match that `matched` starts: m is decodeMatched's
 * object (protocol.js). Every value is checked: kinds and fields of the
 * schema, known shapes (an unknown one is a circle), colours as #rrggbb,
 * indexes within the fields, action bits 0..7.
 */
export function describeMode(m) {
  const fields = (Array.isArray(m.fields) ? m.fields : []).map((f) => ({
    name: String(f.name), scale: pos(f.scale, 1),
  }));
  const nf = fields.length;
  const idx = (v) => (Number.isInteger(v) && v >= 0 && v < nf ? v : -1);
  const teams = (Array.isArray(m.teams) ? m.teams : []).map((t) => ({ name: String(t.name), color: color(t.color, GREY) }));
  const kinds = (Array.isArray(m.kinds) ? m.kinds : []).map((k) => ({
    name: String(k.name),
    shape: SHAPES.has(k.shape) ? k.shape : "circle",
    color: color(k.color, GREY),
    size: pos(k.size, DEFAULT_SIZE),
    label: k.label === -2 ? -2 : idx(k.label),
    team: teams.length ? idx(k.team) : -1,
    meter: num(k.meterMax) > 0 ? idx(k.meter) : -1,
    meterMax: num(k.meterMax) > 0 && idx(k.meter) >= 0 ? num(k.meterMax) : 0,
    order: 0,
  }));
  // Largest first: what is drawn over a thing is smaller than it.
  kinds.map((k, i) => i).sort((a, b) => kinds[b].size - kinds[a].size || a - b)
    .forEach((ki, rank) => { kinds[ki].order = rank; });
  const seen = new Set();
  const actions = [];
  for (const a of Array.isArray(m.actions) ? m.actions : []) {
    // Bits 0..7 of `buttons`, each at most once.
    if (!Number.isInteger(a.bit) || a.bit < 0 || a.bit > 7 || seen.has(a.bit)) continue;
    seen.add(a.bit);
    actions.push({ bit: a.bit, name: String(a.name), cooldownTicks: Math.max(0, Math.ceil(num(a.cooldownTicks))), aimed: !!a.aimed });
  }
  const im = m.immobile;
  const immobile = im && idx(im.field) >= 0 && Number.isFinite(im.min) && Number.isFinite(im.max)
    ? { field: im.field, min: im.min, max: im.max } : null;
  const used = new Set();
  for (const k of kinds) {
    if (k.label >= 0) used.add(k.label);
    if (k.team >= 0) used.add(k.team);
    if (k.meter >= 0) used.add(k.meter);
  }
  if (immobile) used.add(immobile.field);
  const arg = (v) => (v === "player" || v === "entity" || v === "value" ? v : "");
  return {
    name: String(m.mode),
    title: String(m.title || m.mode),
    tickRate: Math.max(1, num(m.tickRate)),
    worldW: Math.max(0, num(m.worldW)),
    worldH: Math.max(0, num(m.worldH)),
    posScale: pos(m.posScale, 1),
    speed: Math.max(0, num(m.speed)),
    avatarRadius: pos(m.avatarRadius, DEFAULT_SIZE),
    interestRadius: Math.max(0, num(m.interestRadius)),
    actions,
    kinds,
    fields,
    events: (Array.isArray(m.events) ? m.events : []).map((e) => ({
      type: num(e.type), name: String(e.name), a: arg(e.a), b: arg(e.b),
    })),
    teams,
    immobile,
    marks: fields.map((f, i) => i).filter((i) => !used.has(i)),
  };
}

function pos(v, dflt) {
  return Number.isFinite(num(v)) && num(v) > 0 ? num(v) : dflt;
}
function color(c, dflt) {
  return typeof c === "string" && /^#[0-9a-fA-F]{6}$/.test(c) ? c : dflt;
}

/** The action named name (fire…) of description d, or null. */
export function action(d, name) {
  return (d && d.actions.find((a) => a.name === name)) || null;
}

/**
 * Whether the declared immobility rule holds for entity e (dequantized:
 * {fields}): inputs do not move such an avatar.
 */
export function isImmobile(d, e) {
  const im = d && d.immobile;
  if (!im) return false;
  const v = e.fields[im.field];
  return v >= im.min && v <= im.max;
}

/** The team {name, color} of entity e of kind k, or null. */
export function teamOf(d, k, e) {
  if (!k || k.team < 0) return null;
  const n = e.fields[k.team];
  return Number.isInteger(n) && n >= 1 && n <= d.teams.length ? d.teams[n - 1] : null;
}

/**
 * The lobby's modes, from GET /v1/modes ({modes: [{name, title, players,
 * …}]}): {modes, error}, with modes empty and error set when the server
 * did not give them.
 */
export async function fetchModes() {
  try {
    const res = await fetch("/v1/modes", { cache: "no-store" });
    if (!res.ok) return { modes: [], error: `HTTP ${res.status}` };
    const body = await res.json();
    const list = body && Array.isArray(body.modes) ? body.modes : null;
    if (!list) return { modes: [], error: "malformed answer" };
    return {
      modes: list.filter((m) => m && typeof m.name === "string" && m.name !== "").map((m) => ({
        name: m.name, title: String(m.title || m.name), players: num(m.players),
      })),
      error: null,
    };
  } catch (err) {
    return { modes: [], error: String(err && err.message || err) };
  }
}
