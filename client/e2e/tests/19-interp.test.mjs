// The browser's placement of others at the render time (web/static/js/
// interp.js, a module with no page state: no browser needed), on the
// cases of the Go client's TestMirrorSparseUpdates and
// TestMirrorSparseExtrapolates (client/mirror_test.go), which must draw
// alike: a slide between the changes of an entity updated every 3rd tick,
// its extrapolation past its last change while the next is due, the holds,
// and a jump (netcode.Lerp) on either path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { entitiesAt } from "../../../web/static/js/interp.js";

/**
 * Snapshots of ticks from..to of entity 5 at x xs(tick) (y 0), each
 * with the set of ids whose position it set (as mirror.js's applyDiff).
 */
function ring(from, to, xs, fields = () => [0]) {
  const snaps = [];
  for (let t = from; t <= to; t++) {
    const e = { id: 5, kind: 0, kindName: "npc", x: xs(t), y: 0, fields: fields(t) };
    const moved = new Set();
    if (t === from || xs(t) !== xs(t - 1)) moved.add(5);
    snaps.push({ tick: t, ents: new Map([[5, e]]), moved });
  }
  return snaps;
}

const xAt = (snaps, rt) => {
  const got = entitiesAt(snaps, rt);
  assert.equal(got.length, 1);
  return got[0].x;
};
const near = (got, want, what) => assert.ok(Math.abs(got - want) < 1e-6, `${what}: x ${got}, want ${want}`);

test("an entity updated every 3rd tick slides between its changes", () => {
  const xs = [0, 0, 0, 30, 30, 30, 60];
  const snaps = ring(10, 16, (t) => xs[t - 10]);
  for (const [rt, x] of [[14.5, 45], [13, 30], [15.5, 55], [13.5, 35]]) near(xAt(snaps, rt), x, `rt ${rt}`);
  // Changes more than 3 ticks apart: an entity that stopped, then went on.
  const st = [0, 6, 6, 6, 6, 12];
  near(xAt(ring(10, 15, (t) => st[t - 10]), 12.5), 6, "a stopped entity");
});

test("past its last change it moves on while the next is due, then holds", () => {
  const every3 = (t) => Math.floor((t - 4) / 3) * 30; // updated at 4, 7, 10: 10 u/tick
  const snaps = ring(4, 12, every3);
  for (const [rt, x] of [[10.5, 65], [10.9, 69], [11, 70], [12, 80], [13, 80], [9.5, 55]]) near(xAt(snaps, rt), x, `rt ${rt}`);
  // The next change arrives: the slide draws it where the extrapolation did.
  near(xAt(ring(4, 13, every3), 10.5), 65, "with the next change");
  // Its next change was due at 13 and did not come: it stopped.
  near(xAt(ring(4, 13, (t) => every3(Math.min(t, 12))), 11.5), 60, "a stopped sparse entity");
  // Updated every tick up to 10, then still: no overshoot.
  near(xAt(ring(4, 12, (t) => Math.min(t, 10) * 10), 10.5), 100, "a stopped dense entity");
  // No previous change within 3 ticks (6 -> 10): it holds.
  const gap = [0, 0, 10, 10, 10, 10, 40, 40, 40];
  near(xAt(ring(4, 12, (t) => gap[t - 4]), 10.5), 40, "no previous change within 3 ticks");
});

test("a jump is not slid across nor extrapolated (netcode.Lerp)", () => {
  const xs = [0, 0, 0, 30, 30, 30, 500, 500, 500];
  const snaps = ring(4, 12, (t) => xs[t - 4], (t) => [t]);
  near(xAt(snaps, 10.5), 500, "past a jump");
  // On the sparse path (changes at 7 and 10): the older place for the
  // first half, the newer for the second, with the values of the
  // snapshot after the render time.
  near(xAt(snaps, 8.4), 30, "first half of the jump");
  const second = entitiesAt(snaps, 8.6)[0];
  near(second.x, 500, "second half of the jump");
  assert.deepEqual(second.fields, [9], "the values of the snapshot after the render time");
});

test("before the oldest snapshot, and past the newest, it is held; new in view, as it is", () => {
  const snaps = ring(10, 11, (t) => (t - 10) * 10);
  near(xAt(snaps, 9), 0, "before the oldest");
  near(xAt(snaps, 10.5), 5, "between");
  near(xAt(snaps, 14), 10, "past the newest");
  snaps[1].ents.set(6, { id: 6, kind: 0, kindName: "npc", x: 7, y: 0, fields: [0] });
  snaps[1].moved.add(6);
  const e6 = entitiesAt(snaps, 10.5).find((e) => e.id === 6);
  assert.equal(e6.x, 7);
});
