/*
 * The mode description: everything the page needs to predict and draw a
 * mode, with no code of its own for any mode. The rest of the page reads
 * only this object (match.desc):
 *
 *   {name, title, players, tickRate, worldW, worldH, posScale,
 *    speed, avatarRadius, interestRadius,
 *    actions: [{bit, name, cooldownTicks}],
 *    kinds:   [{name, shape: "circle"|"square"|"triangle"|"diamond"|"ring",
 *              color: "#rrggbb", size, label, team, bar, fade, flag, flagColor, layer, glow}],
 *    fields:  [{name, scale}],
 *    events:  [{type, name, a, b, text, own, flash}],
 *    teams:   [{name, color}]}
 *
 * A kind's label is the index of the field drawn under it, -1 for none, or
 * -2 for the name of the player whose avatar it is; team is the index of
 * the field holding its team (-1: none; the team's colour then fills it).
 * Hints beyond these: bar (index of a field drawn as a bar over the entity,
 * relative to the highest value seen), fade (index of a field at or below
 * which 0 the entity is drawn dimmed: a dead avatar), flag (index of a field that, when above 0, rings the entity in
 * flagColor and puts the field's name after its label) and layer (drawing
 * order, lowest first), glow (drawn glowing: a shot). An event's a and b say what its values are
 * ("entity" or "" for nothing); text is the feed line ("{a}", "{b}" become
 * the entities' names, "{is}" becomes "are" after "you", else "is"; none:
 * no line), own: only when a is the player's own avatar, flash: "b" (or
 * "a") flashes that entity.
 *
 * ADAPTER. Protocol version 2's `matched` carries the world, the tick rate
 * and the schema but not the rest: until `matched` carries the whole
 * description (protocol version 3), describeMode() completes it from
 * V2_MODES below, the one table of per-mode numbers the page has. When the
 * server sends the description, describeMode() returns it (checked by
 * normalize()) and V2_MODES and LOBBY_FALLBACK go.
 */

import { num } from "./state.js";

// ---------------------------------------------------------------------------
// ADAPTER: to be replaced by the description in `matched` (protocol version 3)
// and by GET /v1/modes. The numbers are the Go specs' (game/arena.go,
// game/tag.go): speed in u/s, cooldowns in ms, sizes in world units.
// ---------------------------------------------------------------------------

const V2_MODES = {
  arena: {
    title: "Arena", players: 8, speed: 200, avatarRadius: 16, interestRadius: 500,
    actions: [{ bit: 1, name: "fire", cooldownMs: 250 }],
    kinds: {
      player: { shape: "circle", color: "#4a9dff", size: 16, label: -2, bar: "hp", fade: "hp", layer: 2 },
      npc: { shape: "diamond", color: "#d9823b", size: 14, label: -1, fade: "hp", layer: 1 },
      projectile: { shape: "circle", color: "#ffe066", size: 4, label: -1, layer: 0, glow: true },
    },
    events: [
      { type: 1, name: "hit", a: "entity", b: "entity", flash: "b" },
      { type: 2, name: "kill", a: "entity", b: "entity", text: "{a} eliminated {b}" },
      { type: 3, name: "respawn", a: "entity", b: "", text: "{a} respawned", own: true },
    ],
  },
  tag: {
    title: "Tag", players: 8, speed: 220, avatarRadius: 16, interestRadius: 600,
    actions: [],
    kinds: {
      player: { shape: "circle", color: "#4a9dff", size: 16, label: -2, flag: "it", flagColor: "#ff4d5a", layer: 2 },
    },
    events: [
      { type: 4, name: "tagged", a: "entity", b: "entity", text: "{a} {is} it" },
    ],
  },
};

// What the page assumes of a mode the table does not know (protocol 2 says
// nothing about it): the old defaults.
const V2_DEFAULT = {
  speed: 200, avatarRadius: 16, interestRadius: 500,
  actions: [{ bit: 1, name: "fire", cooldownMs: 250 }], kinds: {}, events: [],
};

// The lobby's modes when the server has no GET /v1/modes.
export const LOBBY_FALLBACK = Object.keys(V2_MODES).map((name) => ({
  name, title: V2_MODES[name].title, players: V2_MODES[name].players,
}));

// ---------------------------------------------------------------------------

const SHAPES = new Set(["circle", "square", "triangle", "diamond", "ring"]);
const DEFAULT_KIND = { shape: "circle", color: "#9aa7b4", size: 10, label: -1, team: -1, bar: -1, fade: -1, flag: -1,
  flagColor: "#ff4d5a", layer: 1, glow: false };

/**
 * The description of the match `matched` starts. m is the parsed matched:
 * {mode, tickRate, worldW, worldH, posScale, kinds: [names], fields:
 * [{name, scale}]}. The one function to change when the description comes
 * on the wire.
 */
export function describeMode(m) {
  const t = V2_MODES[m.mode] || V2_DEFAULT;
  const fieldIndex = (v) => (typeof v === "string" ? m.fields.findIndex((f) => f.name === v) : v);
  return normalize({
    name: m.mode,
    title: t.title || m.mode,
    players: t.players || 0,
    tickRate: m.tickRate,
    worldW: m.worldW,
    worldH: m.worldH,
    posScale: m.posScale,
    speed: t.speed,
    avatarRadius: t.avatarRadius,
    interestRadius: t.interestRadius,
    // Go's CooldownTicks: whole ticks, rounded up, ignoring float noise.
    actions: t.actions.map((a) => ({ bit: a.bit, name: a.name,
      cooldownTicks: Math.ceil((a.cooldownMs / 1000) * m.tickRate - 1e-9) })),
    kinds: m.kinds.map((name) => {
      const k = t.kinds[name] || {};
      return { ...k, name, bar: fieldIndex(k.bar ?? -1), fade: fieldIndex(k.fade ?? -1), flag: fieldIndex(k.flag ?? -1) };
    }),
    fields: m.fields,
    events: t.events,
    teams: [],
  });
}

/**
 * A description with every field present and in range (kinds and fields of
 * the schema, known shapes, colours as #rrggbb, indexes within the fields).
 */
export function normalize(d) {
  const nf = Array.isArray(d.fields) ? d.fields.length : 0;
  const idx = (v, min) => (Number.isInteger(v) && v >= min && v < nf ? v : -1);
  const color = (c, dflt) => (typeof c === "string" && /^#[0-9a-fA-F]{6}$/.test(c) ? c : dflt);
  const pos = (v, dflt) => (Number.isFinite(num(v)) && num(v) > 0 ? num(v) : dflt);
  return {
    name: String(d.name),
    title: String(d.title || d.name),
    players: num(d.players),
    tickRate: Math.max(1, num(d.tickRate)),
    worldW: num(d.worldW),
    worldH: num(d.worldH),
    posScale: pos(d.posScale, 1),
    speed: Math.max(0, num(d.speed)),
    avatarRadius: pos(d.avatarRadius, DEFAULT_KIND.size),
    interestRadius: num(d.interestRadius),
    actions: (Array.isArray(d.actions) ? d.actions : []).map((a) => ({
      bit: num(a.bit), name: String(a.name), cooldownTicks: Math.max(0, num(a.cooldownTicks)),
    })),
    kinds: (Array.isArray(d.kinds) ? d.kinds : []).map((k) => ({
      name: String(k.name),
      shape: SHAPES.has(k.shape) ? k.shape : DEFAULT_KIND.shape,
      color: color(k.color, DEFAULT_KIND.color),
      size: pos(k.size, DEFAULT_KIND.size),
      label: k.label === -2 ? -2 : idx(k.label, 0),
      team: idx(k.team, 0),
      bar: idx(k.bar, 0),
      fade: idx(k.fade, 0),
      flag: idx(k.flag, 0),
      flagColor: color(k.flagColor, DEFAULT_KIND.flagColor),
      layer: Number.isFinite(k.layer) ? k.layer : DEFAULT_KIND.layer,
      glow: !!k.glow,
    })),
    fields: (Array.isArray(d.fields) ? d.fields : []).map((f) => ({ name: String(f.name), scale: pos(f.scale, 1) })),
    events: (Array.isArray(d.events) ? d.events : []).map((e) => ({
      type: num(e.type), name: String(e.name), a: String(e.a || ""), b: String(e.b || ""),
      text: typeof e.text === "string" ? e.text : "", own: !!e.own,
      flash: e.flash === "a" || e.flash === "b" ? e.flash : "",
    })),
    teams: (Array.isArray(d.teams) ? d.teams : []).map((t) => ({ name: String(t.name), color: color(t.color, "#9aa7b4") })),
  };
}

/** The action named name (fire…) of description d, or null. */
export function action(d, name) {
  return (d && d.actions.find((a) => a.name === name)) || null;
}

/**
 * The lobby's modes: GET /v1/modes ([{name, title, players, …}]) or, on a
 * server without it, LOBBY_FALLBACK. Returns {modes, from, error}.
 */
export async function fetchModes() {
  try {
    const res = await fetch("/v1/modes", { cache: "no-store" });
    if (res.ok) {
      const body = await res.json();
      const list = Array.isArray(body) ? body : Array.isArray(body && body.modes) ? body.modes : null;
      if (list && list.length) {
        return {
          modes: list.filter((m) => m && typeof m.name === "string").map((m) => ({
            name: m.name, title: String(m.title || m.name), players: num(m.players),
          })),
          from: "server",
          error: null,
        };
      }
    }
    return { modes: LOBBY_FALLBACK, from: "adapter", error: res.ok ? null : (res.status === 404 ? null : `HTTP ${res.status}`) };
  } catch (err) {
    return { modes: LOBBY_FALLBACK, from: "adapter", error: String(err && err.message || err) };
  }
}
