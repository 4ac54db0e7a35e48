/*
 * Input devices: the keyboard (WASD / arrows; 1..7 for the mode's declared
 * actions other than "fire", in their order), the mouse (aim; click or
 * hold for the action "fire", right-click for the action "hitscan") and touch (a drag that starts on the
 * left third of the screen moves like a joystick; a touch elsewhere aims
 * there and acts while held).
 */

import { hook, S, canvas } from "./state.js";
import { screenToWorld } from "./render.js";
import { start } from "./connection.js";

// Diagonal component: one ulp below Math.SQRT1_2, so that the diagonal move
// vector has length <= 1 however the server computes it
// (SQRT1_2² * 2 is 1.0000000000000002 in float64; this gives 0.9999999999999998).
const DIAG = 0.7071067811865475;
const STICK_DEAD_PX = 12;   // a joystick drag shorter than this does not move
const STICK_FULL_PX = 60;   // … and one this long moves at full speed

/** What the devices hold now. */
export const input = {
  keys: new Set(),
  mouseDown: false,
  mouseScreen: null,  // {x, y} in CSS pixels: where the mouse (or an aiming touch) is
  stick: null,        // {id, x0, y0, x, y}: the joystick touch
  aimTouch: null,     // identifier of the aiming touch
};

/** The move vector (length <= 1, y grows downward): the keys, else the joystick. */
export function readMove() {
  const k = input.keys;
  const right = k.has("KeyD") || k.has("ArrowRight");
  const left = k.has("KeyA") || k.has("ArrowLeft");
  const down = k.has("KeyS") || k.has("ArrowDown");
  const up = k.has("KeyW") || k.has("ArrowUp");
  let mx = (right ? 1 : 0) - (left ? 1 : 0);
  let my = (down ? 1 : 0) - (up ? 1 : 0);
  if (mx !== 0 && my !== 0) {
    mx *= DIAG;
    my *= DIAG;
  }
  const st = input.stick;
  if (mx === 0 && my === 0 && st) {
    const dx = st.x - st.x0;
    const dy = st.y - st.y0;
    const len = Math.hypot(dx, dy);
    if (len >= STICK_DEAD_PX) {
      // A hair under full length, so that rounding never makes it longer than 1.
      const f = (Math.min(1, len / STICK_FULL_PX) / len) * (1 - 1e-9);
      mx = dx * f;
      my = dy * f;
    }
  }
  return { mx, my };
}

/** The world point under the mouse (or the aiming touch), or null. */
export function mouseWorld() {
  if (!input.mouseScreen) return null;
  return screenToWorld(input.mouseScreen.x, input.mouseScreen.y);
}

const GAME_KEYS = new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);

function typingInField(ev) {
  const t = ev.target;
  return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
}

function act(x, y) {
  input.mouseScreen = { x, y };
  if (hook.state === "playing") {
    S.fireQueued = true;
    input.mouseDown = true;
  }
}

/** Listens to the devices. */
export function initInput() {
  window.addEventListener("keydown", (ev) => {
    if (typingInField(ev)) {
      if (ev.key === "Enter" && hook.state === "lobby") start();
      return;
    }
    if (GAME_KEYS.has(ev.code)) {
      input.keys.add(ev.code);
      if (hook.state === "playing") ev.preventDefault();
    }
    // Keys 1..7: the declared actions that are not "fire", in order.
    const digit = /^Digit([1-7])$/.exec(ev.code);
    if (digit && hook.state === "playing" && S.match) {
      const other = S.match.desc.actions.filter((a) => a.name !== "fire");
      const a = other[Number(digit[1]) - 1];
      if (a) S.actQueued.add(a.bit);
    }
  });
  window.addEventListener("keyup", (ev) => {
    input.keys.delete(ev.code);
  });
  window.addEventListener("blur", () => {
    input.keys.clear();
    input.mouseDown = false;
    input.stick = null;
    input.aimTouch = null;
  });

  canvas.addEventListener("mousemove", (ev) => {
    input.mouseScreen = { x: ev.clientX, y: ev.clientY };
  });
  canvas.addEventListener("mousedown", (ev) => {
    if (ev.button === 2) {
      // The right button: the action named "hitscan", where the mode declares one.
      input.mouseScreen = { x: ev.clientX, y: ev.clientY };
      const a = hook.state === "playing" && S.match ? S.match.desc.actions.find((x) => x.name === "hitscan") : null;
      if (a) S.actQueued.add(a.bit);
      return;
    }
    if (ev.button !== 0) return;
    act(ev.clientX, ev.clientY);
  });
  window.addEventListener("mouseup", (ev) => {
    if (ev.button === 0) input.mouseDown = false;
  });
  canvas.addEventListener("contextmenu", (ev) => ev.preventDefault());

  canvas.addEventListener("touchstart", (ev) => {
    ev.preventDefault(); // no emulated mouse events, no scrolling
    for (const t of ev.changedTouches) {
      if (!input.stick && t.clientX < window.innerWidth / 3) {
        input.stick = { id: t.identifier, x0: t.clientX, y0: t.clientY, x: t.clientX, y: t.clientY };
      } else if (input.aimTouch === null) {
        input.aimTouch = t.identifier;
        act(t.clientX, t.clientY);
      }
    }
  }, { passive: false });
  canvas.addEventListener("touchmove", (ev) => {
    ev.preventDefault();
    for (const t of ev.changedTouches) {
      if (input.stick && t.identifier === input.stick.id) {
        input.stick.x = t.clientX;
        input.stick.y = t.clientY;
      } else if (t.identifier === input.aimTouch) {
        input.mouseScreen = { x: t.clientX, y: t.clientY };
      }
    }
  }, { passive: false });
  const touchEnd = (ev) => {
    for (const t of ev.changedTouches) {
      if (input.stick && t.identifier === input.stick.id) input.stick = null;
      if (t.identifier === input.aimTouch) {
        input.aimTouch = null;
        input.mouseDown = false;
      }
    }
  };
  canvas.addEventListener("touchend", touchEnd);
  canvas.addEventListener("touchcancel", touchEnd);
}
