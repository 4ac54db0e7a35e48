/*
 * The wire protocol (docs/PROTOCOL.md): message types, snapshot flags, close
 * and error codes, and msgpack encode/decode (vendor/msgpack.min.js, loaded
 * before the modules as the global MessagePack).
 */

export const encode = window.MessagePack.encode;
export const decode = window.MessagePack.decode;

// ---------------------------------------------------------------------------
// Protocol constants
// ---------------------------------------------------------------------------

// Version 3: `matched` declares the mode (schema kinds with render hints,
// float scales, info), score entries may carry the player's name, a
// standing may carry its team (PROTOCOL.md §5, §14).
export const PROTO_MIN = 3;
export const PROTO_MAX = 3;

// client → server
export const C_HELLO = 0, C_QUEUE = 1, C_INPUT = 2, C_PING = 3, C_LEAVE = 4, C_INPUTS = 5;
// spectate [6, matchId, follow]: watch a match read-only (PROTOCOL.md §17)
export const C_SPECTATE = 6;
// server → client
export const S_WELCOME = 0, S_QUEUED = 1, S_MATCHED = 2, S_SNAPSHOT = 3,
  S_RESULT = 4, S_PONG = 5, S_ERROR = 6, S_MOVED = 7;

// snapshot layout: [3, tick, ackSeq, flags, updates, optional parts…]
export const SNAP_FIXED = 5;
export const SNAP_RESET = 1, SNAP_LEAD = 2, SNAP_REJECTS = 4, SNAP_EVENTS = 8,
  SNAP_SCORES = 16, SNAP_CREATES = 32, SNAP_REMOVES = 64;
// mask of an update group that carries no mask (handle*2, dx, dy)
export const UPDATE_XY = 3;

// (Event types are the mode's: matched declares them, see mode.js.)

export const CLOSE_NAMES = {
  1000: "bye", 1001: "shutdown", 1006: "abnormal", 1008: "flood",
  1009: "too_large", 4000: "protocol", 4001: "version", 4002: "idle",
  4003: "replaced", 4004: "congested", 4005: "internal", 4006: "hello_timeout",
  4007: "moved",
};
export const REJECT_NAMES = { 1: "bad_direction", 2: "cooldown", 3: "dropped", 4: "invalid", 5: "missing" };
// error message codes (PROTOCOL.md §5)
export const E_UNKNOWN_MODE = 1, E_ALREADY_QUEUED = 2, E_NOT_QUEUED = 3, E_SEAT_EXPIRED = 4, E_MATCH_GONE = 5;
export const E_SPECTATORS_FULL = 7, E_UNKNOWN_MATCH = 8, E_BUSY = 9;
// welcome's `where`: where the server has the player.
export const WHERE_LOBBY = 0, WHERE_QUEUED = 1, WHERE_SEATED = 2;
export const CLOSE_VERSION = 4001, CLOSE_REPLACED = 4003, CLOSE_MOVED = 4007;
// Codes we close with ourselves when we give a socket up (never 1000:
// the server must see a drop, not a goodbye, to hold our seat).
export const CLOSE_STALLED = 4100, CLOSE_RESYNC = 4101, CLOSE_OFFLINE = 4102, CLOSE_MOVING = 4103,
  CLOSE_TEST_DROP = 4999;

export const MSG_SEAT_EXPIRED = "Your seat expired — back in the lobby";
export const MSG_MATCH_GONE = "The match is gone (server restarted)";
export const MSG_NO_RESUME = "The match could not be resumed — back in the lobby";
// A welcome with where=0 after we lost a match's connection: the seat is
// gone (the error that usually follows makes it MSG_SEAT_EXPIRED or
// MSG_MATCH_GONE).
export const MSG_SEAT_GONE = "Your seat in the match is gone — back in the lobby";
export const MSG_REPLACED = "This game was opened in another tab or window — not reconnecting";
export const OUTCOME_TITLES = {
  0: "Match over",
  1: "Match ended (server error)",
  2: "Match ended (server shutting down)",
};

// ---------------------------------------------------------------------------
// Decoders of the server's messages that have a layout of their own. They
// never throw: an element of the wrong type reads as its zero value (as
// num() does), and a list that is not an array as an empty list.
// ---------------------------------------------------------------------------

const arr = (v) => (Array.isArray(v) ? v : []);
const str = (v) => (typeof v === "string" ? v : "");
const n = (v) => (typeof v === "bigint" ? Number(v) : typeof v === "number" && Number.isFinite(v) ? v : 0);
const int = (v, dflt) => (Number.isInteger(n(v)) && (typeof v === "number" || typeof v === "bigint") ? n(v) : dflt);

/**
 * matched: [2, matchId, mode, entityId, tickRate, worldW, worldH, schema,
 * tick, endTick, ackSeq, info] with
 *   schema = [posScale, [[name, shape, color, size, label, team]…], [[name, scale]…]]
 *   info   = [speed, avatarRadius, interestRadius, [[bit, name, cooldownTicks, aimed]…],
 *             [[type, name, a, b]…], [[name, color]…], [] | [field, min, max]]
 * Returns the plain object describeMode() (mode.js) takes. hasInfo is false
 * when the 12th element is missing (a server of an older version). A
 * spectator's matched has a 13th element [delayMs, follow] (spectating).
 */
export function decodeMatched(msg) {
  const schema = arr(msg[7]);
  const info = arr(msg[11]);
  const im = arr(info[6]);
  const spec = msg.length > 12 && Array.isArray(msg[12]) ? msg[12] : null;
  return {
    spectating: spec !== null,
    delayMs: spec ? n(spec[0]) : 0,
    follow: spec ? n(spec[1]) : 0,
    matchId: String(msg[1]),
    mode: str(msg[2]),
    entityId: n(msg[3]),
    tickRate: Math.max(1, n(msg[4])),
    worldW: n(msg[5]),
    worldH: n(msg[6]),
    posScale: n(schema[0]),
    kinds: arr(schema[1]).map((k) => {
      k = arr(k);
      return { name: str(k[0]), shape: str(k[1]), color: str(k[2]), size: n(k[3]), label: int(k[4], -1), team: int(k[5], -1),
        meter: int(k[6], -1), meterMax: k.length > 7 ? n(k[7]) : 0 };
    }),
    fields: arr(schema[2]).map((f) => ({ name: str(arr(f)[0]), scale: n(arr(f)[1]) })),
    tick: n(msg[8]),
    endTick: n(msg[9]),
    ackSeq: n(msg[10]),
    hasInfo: Array.isArray(msg[11]),
    speed: n(info[0]),
    avatarRadius: n(info[1]),
    interestRadius: n(info[2]),
    actions: arr(info[3]).map((a) => {
      a = arr(a);
      return { bit: int(a[0], -1), name: str(a[1]), cooldownTicks: n(a[2]), aimed: a[3] === true };
    }),
    events: arr(info[4]).map((e) => {
      e = arr(e);
      return { type: n(e[0]), name: str(e[1]), a: str(e[2]), b: str(e[3]) };
    }),
    teams: arr(info[5]).map((t) => ({ name: str(arr(t)[0]), color: str(arr(t)[1]) })),
    immobile: im.length === 3 ? { field: int(im[0], -1), min: n(im[1]), max: n(im[2]) } : null,
  };
}

/**
 * A score entry [entityId, score, away, name?] (the name is there the first
 * time a view sends that player), or null when it is malformed.
 */
export function decodeScore(sc) {
  if (!Array.isArray(sc) || sc.length < 2) return null;
  return { id: n(sc[0]), score: n(sc[1]), away: sc.length > 2 && sc[2] === true,
    name: sc.length > 3 && typeof sc[3] === "string" ? sc[3] : null };
}

/**
 * result's standings: [[playerId, name, entityId, score, place, team?]…]
 * (team, from 1, in a team mode; 0: none). Entries that are not arrays of
 * 5 or 6 elements are skipped.
 */
export function decodeStandings(v) {
  return arr(v).filter((s) => Array.isArray(s) && (s.length === 5 || s.length === 6)).map((s) => ({
    playerId: String(s[0]),
    name: str(s[1]),
    entityId: n(s[2]),
    score: n(s[3]),
    place: n(s[4]),
    team: s.length > 5 ? n(s[5]) : 0,
  }));
}
