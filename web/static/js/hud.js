/*
 * What the player reads: the status line, errors and notices, the event
 * feed, the HUD, the scoreboard (names from S.names), the result panel and
 * the lobby's modes and leaderboards.
 */

import { hook, el, S, num } from "./state.js";
import { OUTCOME_TITLES } from "./protocol.js";
import { netState } from "./connection.js";

const MAX_ERRORS_KEPT = 50;
const feedItems = [];      // [{text, at}]

export function setStatus(text, warn = false) {
  hook.status = text;
  el.status.textContent = text;
  el.status.classList.toggle("warn", warn);
}

export function setState(state, statusText, warn = false) {
  const was = hook.state;
  hook.state = state;
  if (statusText !== undefined) setStatus(statusText, warn);
  const inGame = state === "playing" || state === "spectating";
  el.leave.classList.toggle("hidden", !(inGame || state === "queued"));
  el.lobby.classList.toggle("hidden", state !== "lobby");
  if (state !== "over") el.result.classList.add("hidden");
  // Back in the lobby after a match: its result may have changed the board.
  if (state === "lobby" && was !== "lobby" && el.mode.value) showLeaderboard(el.mode.value);
}

export function recordError(source, code, text) {
  hook.errors.push({ source, code, text, at: Date.now() });
  if (hook.errors.length > MAX_ERRORS_KEPT) hook.errors.splice(0, hook.errors.length - MAX_ERRORS_KEPT);
}

let errorTimer = null;
export function showError(text) {
  el.error.textContent = text;
  el.error.classList.remove("hidden");
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => el.error.classList.add("hidden"), 8000);
}
export function hideError() {
  el.error.classList.add("hidden");
}

export function pushFeed(text) {
  feedItems.push({ text, at: performance.now() });
  if (feedItems.length > 6) feedItems.shift();
  renderFeed();
}
export function renderFeed() {
  const now = performance.now();
  while (feedItems.length && now - feedItems[0].at > 6000) feedItems.shift();
  const html = feedItems.map((f) => `<li>${escapeHtml(f.text)}</li>`).join("");
  if (el.feed.innerHTML !== html) el.feed.innerHTML = html;
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
/**
 * How the page names entity id: "you" for the own avatar, else the
 * player's name when the page knows it (S.names: the own from welcome, the
 * others from the server: a score entry's 4th element, a result's
 * standings), else "#id".
 */
export function displayName(id) {
  if (S.match && id === S.match.entityId) return "you";
  const n = S.names.get(id);
  return n !== undefined ? n : `#${id}`;
}

/** Records the name of the player whose avatar is entity id. */
export function setName(id, name) {
  if (typeof name !== "string" || name === "" || S.names.get(id) === name) return;
  S.names.set(id, name);
  S.scoresVersion += 1;
  hook.names[id] = name;
}

/** Forgets every name but nothing else (a new match). */
export function clearNames() {
  S.names = new Map();
  hook.names = {};
}

/**
 * A snapshot's events, as the mode declares them ([type, name, a, b]):
 * each flashes the entity its b names, and makes a feed line "a name b"
 * ("you kill bob", "alice tagged you", "you pickup flag") when it names the
 * own avatar or names no entity but players (so that kills and tags
 * between others show, not every hit on an NPC). Undeclared types are
 * ignored.
 */
export function showEvents(events) {
  const desc = S.match && S.match.desc;
  if (!desc) return;
  const now = performance.now();
  const own = S.match.entityId;
  for (const ev of events) {
    if (!Array.isArray(ev)) continue;
    const type = num(ev[0]);
    const d = desc.events.find((e) => e.type === type);
    if (!d) continue;
    const a = num(ev[1]);
    const b = num(ev[2]);
    if ((d.b === "entity" || d.b === "player") && b) S.hitFlash.set(b, now);
    const mine = (d.a !== "value" && a === own) || (d.b !== "value" && b === own);
    if (!mine && (d.a === "entity" || d.b === "entity")) continue;
    const parts = [argText(d.a, a), d.name, argText(d.b, b)].filter((t) => t !== "");
    pushFeed(parts.join(" "));
  }
}

/** How an event's value v of declared kind what ("player", "entity", "value", "") reads. */
function argText(what, v) {
  if (what === "value") return String(v);
  if (what === "") return "";
  if (!v) return ""; // none (e.g. a flag that went home by time)
  if (S.names.has(v) || (S.match && v === S.match.entityId) || what === "player") return displayName(v);
  // An entity that is no player's: its kind's name, from the view (or the
  // view before this snapshot, when the snapshot removed it).
  const h = S.byId.get(v);
  const e = h !== undefined ? S.ents[h] : undefined;
  if (e && S.match.desc.kinds[e.kind]) return S.match.desc.kinds[e.kind].name;
  const prev = S.snapshots.length ? S.snapshots[S.snapshots.length - 1].ents.get(v) : undefined;
  return prev ? prev.kindName : `#${v}`;
}

/** The result panel: the title and the standings, the own row marked. */
export function showResult(outcome, standings) {
  el.resultTitle.textContent = OUTCOME_TITLES[outcome] || `Match ended (outcome ${outcome})`;
  el.standingsBody.innerHTML = "";
  let mine = null;
  for (const s of standings) {
    const tr = document.createElement("tr");
    const me = s.playerId === hook.playerId;
    if (me) { tr.className = "me"; mine = s; }
    // A team mode's standing names its team (teams[team−1] of matched).
    const teams = hook.description ? hook.description.teams : [];
    const team = s.team >= 1 && s.team <= teams.length ? ` · ${teams[s.team - 1].name}` : "";
    for (const v of [s.place, (me ? `${s.name} (you)` : s.name) + team, s.score]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.appendChild(td);
    }
    el.standingsBody.appendChild(tr);
  }
  el.result.classList.remove("hidden");
  return mine;
}

/** A notice that stays (not an error that fades): e.g. the predictor's state. */
export function showNotice(text) {
  el.notice.textContent = text;
  el.notice.classList.toggle("hidden", !text);
}

// ---------------------------------------------------------------------------
// Lobby: the modes and each mode's leaderboard
// ---------------------------------------------------------------------------

/**
 * Fills the lobby's mode list (a <select> and a list of buttons showing
 * each mode's leaderboard). selected is the mode to select (?mode=…), kept
 * even if the list does not have it.
 */
export function showModes(modes, error, selected) {
  hook.modes = modes.map((m) => ({ ...m }));
  const names = modes.map((m) => m.name);
  if (selected && !names.includes(selected)) modes = modes.concat([{ name: selected, title: selected, players: 0 }]);
  el.mode.replaceChildren(...modes.map((m) => {
    const opt = document.createElement("option");
    opt.value = m.name;
    opt.dataset.title = m.title;
    opt.textContent = m.players ? `${m.title} (${m.players} players)` : m.title;
    return opt;
  }));
  if (selected) el.mode.value = selected;
  el.modeList.replaceChildren(...modes.map((m) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "tab";
    b.dataset.mode = m.name;
    b.textContent = m.title;
    b.addEventListener("click", () => showLeaderboard(m.name));
    return b;
  }));
  hook.modesError = error;
  if (error) {
    recordError("modes", 0, `GET /v1/modes: ${error}`);
    showError(`The list of modes did not load (${error})`);
  }
}

let boardSeq = 0;
/**
 * Shows mode's leaderboard (GET /v1/leaderboard?mode=…: {mode, players:
 * [{playerId, name, wins, losses, score}]}, best first). An error answer
 * ({"error": code}, 400 unknown_mode or 503 store_unavailable) or a failed
 * request is shown in the table's place.
 */
export async function showLeaderboard(mode) {
  const my = ++boardSeq;
  for (const b of el.modeList.children) b.classList.toggle("on", b.dataset.mode === mode);
  el.boardTitle.textContent = `Leaderboard: ${mode}`;
  el.boardNote.textContent = "loading…";
  el.board.classList.remove("error");
  hook.leaderboard = { mode, players: null, error: null, loading: true };
  let players = null;
  let error = null;
  try {
    const res = await fetch(`/v1/leaderboard?mode=${encodeURIComponent(mode)}`, { cache: "no-store" });
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      error = `${body && body.error ? body.error : "error"} (HTTP ${res.status})`;
    } else if (!body || !Array.isArray(body.players)) {
      error = "malformed answer";
    } else {
      players = body.players;
    }
  } catch (err) {
    error = String(err && err.message || err);
  }
  if (my !== boardSeq) return; // another mode was asked for meanwhile
  hook.leaderboard = { mode, players, error, loading: false };
  const rows = (players || []).slice(0, 10).map((p, i) => {
    const tr = document.createElement("tr");
    if (p.playerId === hook.playerId) tr.className = "me";
    for (const v of [i + 1, p.name, num(p.wins), num(p.losses), num(p.score)]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.appendChild(td);
    }
    return tr;
  });
  el.boardBody.replaceChildren(...rows);
  el.board.classList.toggle("error", error !== null);
  el.boardNote.textContent = error !== null ? `leaderboard unavailable: ${error}`
    : rows.length === 0 ? "no ranked match yet" : "";
}
const hudCache = {};
function setText(key, node, text) {
  if (hudCache[key] !== text) {
    hudCache[key] = text;
    node.textContent = text;
  }
}

function formatTime(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function updateHud() {
  const inMatch = S.match && (hook.state === "playing" || hook.state === "over" || hook.state === "reconnecting" ||
    hook.state === "moving" || hook.state === "spectating");
  const net = netState();
  setText("ping", el.ping, hook.rttMs === null || net !== "connected" ? "–" : `${Math.round(hook.rttMs)} ms`);
  setText("net", el.net, hook.state === "reconnecting" ? (net === "offline" ? "offline" : "reconnecting")
    : hook.state === "moving" ? "moving" : net === "offline" ? "–" : net);
  el.net.classList.toggle("warn", hook.state === "reconnecting");
  setText("tick", el.tick, inMatch && hook.snapshots ? String(hook.tick) : "–");
  setText("score", el.score, inMatch && !hook.spectating ? String(hook.score) : "–");
  setText("time", el.time, inMatch && hook.snapshots ? formatTime(hook.timeLeftMs) : "–");
  setText("entities", el.entities, inMatch && hook.snapshots ? String(hook.entities) : "–");
  const dbg = S.match
    ? `${S.match.mode} ${S.match.tickRate} Hz  seq ${S.seq}  ack ${hook.ackSeq}  predictor ${hook.predictor || "–"}\n` +
      `pending ${S.pending.length}  rejects ${hook.rejects}  reconnects ${hook.reconnects}  resumed ${hook.resumed}\n` +
      `lead ${hook.leadUs === null ? "–" : (hook.leadUs / 1000).toFixed(1)} ms` +
      `  target ${hook.targetLeadUs === null ? "–" : (hook.targetLeadUs / 1000).toFixed(1)} ms` +
      `  ack ${hook.ackMs === null ? "–" : hook.ackMs.toFixed(1)} ms` +
      (S.ownDead ? "\n(dead, waiting to respawn)" : "")
    : `reconnects ${hook.reconnects}  resumed ${hook.resumed}`;
  setText("debug", el.debug, dbg);
  renderScoreboard(inMatch);
}

/**
 * The score table (every player of the match, best first), redrawn when it
 * changes. Players away (seat held while they reconnect) are dimmed.
 */
let scoreboardDrawn = -1;
function renderScoreboard(inMatch) {
  const show = !!inMatch && S.scores.size > 0;
  el.scoreboard.classList.toggle("hidden", !show);
  if (!show || scoreboardDrawn === S.scoresVersion) return;
  scoreboardDrawn = S.scoresVersion;
  const rows = Array.from(S.scores, ([id, sc]) => ({ id, sc, away: S.awayIds.has(id), me: id === S.match.entityId }))
    .sort((a, b) => b.sc - a.sc || a.id - b.id);
  const MAX_ROWS = 10;
  let shown = rows.slice(0, MAX_ROWS);
  const mine = rows.findIndex((r) => r.me);
  if (mine >= MAX_ROWS) shown = shown.slice(0, MAX_ROWS - 1).concat(rows[mine]);
  const frag = document.createDocumentFragment();
  for (const r of shown) {
    const tr = document.createElement("tr");
    if (r.me) tr.className = "me";
    else if (r.away) tr.className = "away";
    tr.dataset.entity = String(r.id);
    const name = document.createElement("td");
    name.textContent = displayName(r.id);
    if (r.away) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "away";
      name.appendChild(tag);
    }
    const score = document.createElement("td");
    score.textContent = String(r.sc);
    tr.append(name, score);
    frag.appendChild(tr);
  }
  el.scoreboardBody.replaceChildren(frag);
}
