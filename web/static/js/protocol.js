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

// Version 2: the snapshot layout of PROTOCOL.md §5 (flags, optional parts,
// updates without their mask when only x and y change).
export const PROTO_MIN = 2;
export const PROTO_MAX = 2;

// client → server
export const C_HELLO = 0, C_QUEUE = 1, C_INPUT = 2, C_PING = 3, C_LEAVE = 4, C_INPUTS = 5;
// server → client
export const S_WELCOME = 0, S_QUEUED = 1, S_MATCHED = 2, S_SNAPSHOT = 3,
  S_RESULT = 4, S_PONG = 5, S_ERROR = 6, S_MOVED = 7;

// snapshot layout: [3, tick, ackSeq, flags, updates, optional parts…]
export const SNAP_FIXED = 5;
export const SNAP_RESET = 1, SNAP_LEAD = 2, SNAP_REJECTS = 4, SNAP_EVENTS = 8,
  SNAP_SCORES = 16, SNAP_CREATES = 32, SNAP_REMOVES = 64;
// mask of an update group that carries no mask (handle*2, dx, dy)
export const UPDATE_XY = 3;

// (Event types are the mode's: see its description, mode.js.)

export const CLOSE_NAMES = {
  1000: "bye", 1001: "shutdown", 1006: "abnormal", 1008: "flood",
  1009: "too_large", 4000: "protocol", 4001: "version", 4002: "idle",
  4003: "replaced", 4004: "congested", 4005: "internal", 4006: "hello_timeout",
  4007: "moved",
};
export const REJECT_NAMES = { 1: "bad_direction", 2: "cooldown", 3: "dropped", 4: "invalid", 5: "missing" };
// error message codes (PROTOCOL.md §5)
export const E_UNKNOWN_MODE = 1, E_ALREADY_QUEUED = 2, E_NOT_QUEUED = 3, E_SEAT_EXPIRED = 4, E_MATCH_GONE = 5;
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
