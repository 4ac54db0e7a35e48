/*
 * Spectating: the lobby's list of running matches to watch (GET
 * /v1/matches: a click watches one), and while watching, the bar that says
 * so with the delay behind live and picks whom to follow: the whole world
 * or each player of the match (the select, or keys 0 for the whole world,
 * 1..9 for the players in the bar's order, F for the next). The page sends
 * no input while spectating (the input loop runs only while "playing").
 */

import { hook, el, S } from "./state.js";
import { spectate, follow } from "./connection.js";
import { displayName, escapeHtml } from "./hud.js";

const LIST_EVERY_MS = 2000;

/** The players the bar offers to follow: avatar entity ids, by name. */
function players() {
  return Array.from(S.scores.keys()).sort((a, b) => displayName(a).localeCompare(displayName(b)) || a - b);
}

let barKey = "";
/** Shows or hides the spectating bar, and keeps its choices up to date. */
function updateBar() {
  const on = hook.spectating && hook.state === "spectating";
  el.spectateBar.classList.toggle("hidden", !on);
  if (!on) {
    barKey = "";
    return;
  }
  const ids = players();
  const key = `${hook.matchId}|${hook.follow}|${hook.spectateDelayMs}|${ids.map((id) => `${id}:${displayName(id)}`).join(",")}`;
  if (key === barKey) return;
  barKey = key;
  const who = hook.follow ? displayName(hook.follow) : "the whole world";
  el.spectateText.textContent = `Spectating ${hook.mode} match · ${(hook.spectateDelayMs / 1000).toFixed(1)} s behind live · following ${who}`;
  const opts = [{ id: 0, text: "0 · whole world" }].concat(ids.map((id, i) => ({ id, text: `${i < 9 ? i + 1 + " · " : ""}${displayName(id)}` })));
  if (hook.follow && !ids.includes(hook.follow)) opts.push({ id: hook.follow, text: displayName(hook.follow) });
  el.spectateFollow.replaceChildren(...opts.map((o) => {
    const opt = document.createElement("option");
    opt.value = String(o.id);
    opt.textContent = o.text;
    return opt;
  }));
  el.spectateFollow.value = String(hook.follow);
}

/** Follows the n-th player of the bar (1-based), 0: the whole world. */
function followNth(n) {
  if (n === 0) {
    follow(0);
    return;
  }
  const id = players()[n - 1];
  if (id !== undefined) follow(id);
}

let listSeq = 0;
/** Fills the lobby's list of running matches (GET /v1/matches). */
export async function showWatchList() {
  const my = ++listSeq;
  let matches = null;
  let error = null;
  try {
    const res = await fetch("/v1/matches", { cache: "no-store" });
    const body = res.ok ? await res.json() : null;
    if (!res.ok) error = `HTTP ${res.status}`;
    else if (!body || !Array.isArray(body.matches)) error = "malformed answer";
    else matches = body.matches;
  } catch (err) {
    error = String(err && err.message || err);
  }
  if (my !== listSeq) return;
  hook.watchList = matches;
  hook.watchError = error;
  const items = (matches || []).map((m) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "watch";
    b.dataset.match = m.id;
    const left = Math.max(0, Math.ceil(m.timeLeft || 0));
    b.innerHTML = `<b>${escapeHtml(m.mode)}</b> · ${m.players}/${m.maxPlayers} players · ` +
      `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left · ${m.spectators} watching`;
    b.disabled = m.maxSpectators > 0 && m.spectators >= m.maxSpectators;
    b.addEventListener("click", () => watch(m.id));
    li.appendChild(b);
    return li;
  });
  el.watchList.replaceChildren(...items);
  el.watchNote.textContent = error !== null ? `matches unavailable: ${error}` : items.length === 0 ? "no match running" : "";
}

/** Watches match id (the page's URL says so, for a reload). */
export function watch(id, followId = 0) {
  try {
    const u = new URL(location.href);
    u.searchParams.set("spectate", id);
    u.searchParams.delete("autoplay");
    history.replaceState(null, "", u);
  } catch (_) { /* no history: nothing to keep */ }
  spectate(id, followId);
}

/** Wires the bar, the keys and the lobby's list. */
export function initSpectate() {
  el.spectateFollow.addEventListener("change", () => follow(Number(el.spectateFollow.value) || 0));
  window.addEventListener("keydown", (ev) => {
    if (hook.state !== "spectating") return;
    const t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    const digit = /^(?:Digit|Numpad)([0-9])$/.exec(ev.code);
    if (digit) {
      followNth(Number(digit[1]));
      ev.preventDefault();
    } else if (ev.code === "KeyF") {
      const ids = [0].concat(players());
      follow(ids[(ids.indexOf(hook.follow) + 1) % ids.length]);
      ev.preventDefault();
    }
  });
  setInterval(() => {
    if (hook.state === "lobby") showWatchList();
  }, LIST_EVERY_MS);
  const tick = () => {
    updateBar();
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
