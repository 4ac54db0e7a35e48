package game

import (
	"testing"
	"time"

	"skirmish/netcode"
)

// Guns on their own, as a new shooting mode would use them: two players,
// no mode around them.
func TestGuns(t *testing.T) {
	gun := Gun{Fire: 2, Cooldown: 100 * time.Millisecond, Kind: 1, Speed: 300, Life: 0.45, Radius: 3,
		HP: 0, MaxHP: 50, Damage: 30, Respawn: 0.2}
	spec := &Spec{Name: "guns", MaxPlayers: 2, Width: 1000, Height: 1000, Speed: 100, Actions: []Action{gun.Action()},
		Immobile: &netcode.Immobile{Field: 0, Min: -1, Max: 0}}
	w := NewWorld(spec, 10, 1, 0)
	g := NewGuns(gun, w, 2)
	if g.cooldown != 1 {
		t.Fatalf("cooldown of %d ticks at 10 Hz", g.cooldown)
	}
	var ps [2]*Player
	for i := range ps {
		e := w.Spawn(0, 100+float32(i)*100, 100)
		e.Radius, e.Owner, e.F[0] = 10, i, gun.MaxHP
		ps[i] = &Player{Seat: i, Entity: e.ID}
		w.Players[i] = ps[i]
		g.Arm(i, 1, 0)
	}
	fire := func(p *Player, aimX float32) (uint8, *Entity) {
		return g.Act(w, p, &netcode.Input{Buttons: 1 << gun.Fire, AimX: aimX}, spec)
	}
	if rej, _ := fire(ps[0], MinAim/10); rej != netcode.RejectBadDirection {
		t.Errorf("an aim shorter than MinAim: reject %d", rej)
	}
	rej, shot := fire(ps[0], 0) // (0, 0): the way seat 0 faces, +x
	if rej != netcode.RejectNone || shot == nil || shot.VX != 300 || shot.VY != 0 || shot.Owner != 0 ||
		shot.Radius != 3 || shot.Timer != 0.45 || shot.Kind != 1 {
		t.Fatalf("shot %+v, reject %d", shot, rej)
	}
	if rej, _ := fire(ps[0], 1); rej != netcode.RejectCooldown {
		t.Errorf("second shot in the same tick: reject %d", rej)
	}
	// The shot reaches seat 1 (100 away at 30 u a tick); the mode decides
	// it hits, Hit scores and Wound kills on the second hit.
	var hits int
	for range 5 {
		w.Tick++
		if !g.MoveShot(w, shot) {
			t.Fatal("shot gone before the target")
		}
		if t1 := w.Get(ps[1].Entity); touching(shot, t1) {
			shooter := g.Hit(w, shot, t1, 2)
			g.Wound(w, t1, shooter)
			hits++
			break
		}
	}
	if hits != 1 || ps[0].Score != 2 || w.Get(shot.ID) != nil || w.Get(ps[1].Entity).F[0] != 20 {
		t.Fatalf("hits %d, score %d, hp %v", hits, ps[0].Score, w.Get(ps[1].Entity).F[0])
	}
	t1 := w.Get(ps[1].Entity)
	g.Wound(w, t1, ps[0].Entity)
	if t1.F[0] != 0 || t1.Timer != 0.2 {
		t.Fatalf("after two hits: hp %v, timer %v", t1.F[0], t1.Timer)
	}
	if rej, shot := fire(ps[1], 1); rej != netcode.RejectNone || shot != nil {
		t.Errorf("the dead fire: reject %d, shot %v", rej, shot)
	}
	if g.Revive(w, t1) || !g.Revive(w, t1) || t1.F[0] != gun.MaxHP || g.Revive(w, t1) {
		t.Errorf("revive after 2 ticks of 0.1 s: hp %v", t1.F[0])
	}
	// A shot flies Life seconds (4 ticks and a half), then MoveShot removes it.
	w.Tick += 5
	_, shot = fire(ps[1], -1)
	var flew int
	for g.MoveShot(w, shot) {
		flew++
	}
	if flew != 4 || w.Get(shot.ID) != nil {
		t.Errorf("a 0.45 s shot flew %d ticks of 0.1 s", flew)
	}
	// The seats' state round-trips; a shot of no seat is refused.
	state := g.appendSeats(nil)
	h := NewGuns(gun, w, 2)
	sr := stateReader{b: state}
	h.readSeats(&sr, w, "guns")
	if err := sr.done(); err != nil || h.seats[0] != g.seats[0] || h.seats[1] != g.seats[1] {
		t.Errorf("read %+v, %v; want %+v", h.seats, err, g.seats)
	}
	sr, three := stateReader{b: state}, NewGuns(gun, w, 3)
	three.readSeats(&sr, w, "guns")
	if err := sr.done(); err == nil || err.Error() != "guns state: 2 seats for 3" {
		t.Errorf("2 seats read into 3: %v", err)
	}
	_, shot = fire(ps[0], 1)
	shot.Owner = 2
	if err := g.CheckShots(w, "guns"); err == nil {
		t.Error("a shot of seat 2 of 2 passes")
	}
	g.RemoveShots(w, 2)
	w.EndTick()
	if err := g.CheckShots(w, "guns"); err != nil {
		t.Errorf("after RemoveShots: %v", err)
	}
}
