package game

import (
	"fmt"
	"math"
	"testing"
	"time"

	"skirmish/netcode"
)

// ctfMatch is a ctf match of n players (seats 0..n-1 joined in order) and
// a record of every event its ticks emitted.
type ctfMatch struct {
	w      *World
	r      *ctfRules
	ps     []*Player
	events []netcode.Event
}

func newCTF(t *testing.T, cfg CTFConfig, n int) *ctfMatch {
	t.Helper()
	w, r, ps := newMatch(t, NewCTF(cfg), n)
	return &ctfMatch{w: w, r: r.(*ctfRules), ps: ps}
}

func (m *ctfMatch) step() {
	m.r.Step(m.w)
	m.events = append(m.events, m.w.Events...)
	m.w.EndTick()
	m.w.Tick++
}

func (m *ctfMatch) avatar(seat int) *Entity { return m.w.Get(m.ps[seat].Entity) }
func (m *ctfMatch) flag(team uint8) *Entity { return m.w.Get(m.r.flags[team-1]) }
func (m *ctfMatch) base(team uint8) *Entity { return m.w.Get(m.r.bases[team-1]) }

// seatOf returns the first seat of team.
func (m *ctfMatch) seatOf(t *testing.T, team uint8) int {
	t.Helper()
	for i, p := range m.ps {
		if p.Team == team {
			return i
		}
	}
	t.Fatalf("nobody in team %d", team)
	return -1
}

// saw reports whether an event of typ with a and b was emitted.
func (m *ctfMatch) saw(typ uint8, a, b uint32) bool {
	for _, ev := range m.events {
		if ev.Type == typ && ev.A == a && ev.B == b {
			return true
		}
	}
	return false
}

// pickUp puts seat on the enemy flag and steps once: they carry it.
func (m *ctfMatch) pickUp(t *testing.T, seat int) *Entity {
	t.Helper()
	e := m.avatar(seat)
	f := m.flag(3 - m.ps[seat].Team)
	e.X, e.Y = f.X+5, f.Y
	m.step()
	if e := m.avatar(seat); e.F[CTFFieldCarrying] != 1 || f.F[CTFFieldState] != CTFFlagCarried || f.Owner != seat {
		t.Fatalf("no pickup: player %+v flag %+v", e, f)
	}
	return f
}

func TestCTFSpecAndSetup(t *testing.T) {
	c := NewCTF(CTFConfig{})
	s := c.Spec()
	if s.Name != "ctf" || s.MaxPlayers != 8 || s.Speed != CTFSpeed || len(s.Actions) != 1 || s.Actions[0].Cooldown != CTFCooldown || s.Duration != 5*time.Minute {
		t.Errorf("spec %+v", s)
	}
	if err := s.Schema.Validate(); err != nil {
		t.Fatal(err)
	}
	// The whole world is in view from anywhere.
	if d2 := s.Width*s.Width + s.Height*s.Height; d2 > s.Interest.Radius*s.Interest.Radius {
		t.Errorf("radius %v does not cover the %v×%v world", s.Interest.Radius, s.Width, s.Height)
	}
	m := newCTF(t, CTFConfig{}, 0)
	for _, team := range []uint8{CTFRed, CTFBlue} {
		b, f := m.base(team), m.flag(team)
		if b == nil || f == nil || b.F[CTFFieldTeam] != float32(team) || f.F[CTFFieldTeam] != float32(team) ||
			b.X != f.X || b.Y != f.Y || f.F[CTFFieldState] != CTFFlagHome {
			t.Errorf("team %d: base %+v flag %+v", team, b, f)
		}
	}
	if m.base(CTFRed).X >= m.base(CTFBlue).X {
		t.Error("red's base is not on the left")
	}
}

// Teams stay balanced: joins alternate, and a join fills the team short of
// players; every player spawns at their base.
func TestCTFTeamBalance(t *testing.T) {
	m := newCTF(t, CTFConfig{}, 8)
	for i, p := range m.ps {
		want := CTFRed
		if i%2 == 1 {
			want = CTFBlue
		}
		e := m.avatar(i)
		if p.Team != want || e.F[CTFFieldTeam] != float32(want) {
			t.Errorf("seat %d in team %d (avatar %v), want %d", i, p.Team, e.F[CTFFieldTeam], want)
		}
		b := m.base(p.Team)
		if dx, dy := e.X-b.X, e.Y-b.Y; max(dx, -dx) > ctfSpawnRange || max(dy, -dy) > ctfSpawnRange {
			t.Errorf("seat %d spawned at (%v, %v), far from its base", i, e.X, e.Y)
		}
	}
	// Two blues leave: the next two joiners are blue, whatever their seat.
	for _, seat := range []int{1, 3} {
		m.r.Leave(m.w, m.ps[seat])
		m.w.Players[seat] = nil
	}
	m.w.EndTick()
	for _, seat := range []int{1, 3} {
		p := &Player{Seat: seat, ID: fmt.Sprint("n", seat)}
		m.w.Players[seat] = p
		m.r.Join(m.w, p)
		if p.Team != CTFBlue {
			t.Errorf("a joiner after two blues left is in team %d", p.Team)
		}
	}
	// Two reds leave and one blue: the first joiner is red.
	for _, seat := range []int{0, 2, 5} {
		m.r.Leave(m.w, m.w.Players[seat])
		m.w.Players[seat] = nil
	}
	p := &Player{Seat: 0, ID: "x"}
	m.w.Players[0] = p
	m.r.Join(m.w, p)
	if p.Team != CTFRed {
		t.Errorf("joined team %d with 2 reds against 3 blues", p.Team)
	}
	// On a tie the team behind on captures gets the player.
	m2 := newCTF(t, CTFConfig{}, 2)
	m2.base(CTFRed).F[CTFFieldCaptures] = 1
	q := &Player{Seat: 2, ID: "q"}
	m2.w.Players[2] = q
	m2.r.Join(m2.w, q)
	if q.Team != CTFBlue {
		t.Errorf("tie: joined team %d, not the one behind", q.Team)
	}
}

func TestCTFPickupCaptureAndScore(t *testing.T) {
	m := newCTF(t, CTFConfig{}, 8)
	blue := m.seatOf(t, CTFBlue)
	redFlag := m.pickUp(t, blue)
	if !m.saw(CTFEventPickup, m.ps[blue].Entity, redFlag.ID) {
		t.Error("no pickup event")
	}
	// The flag follows its carrier.
	e := m.avatar(blue)
	e.X, e.Y = 800, 300
	m.step()
	if redFlag.X != 800 || redFlag.Y != 300 {
		t.Errorf("flag at (%v, %v), carrier at (800, 300)", redFlag.X, redFlag.Y)
	}
	// Home with the blue flag away: no capture.
	m.flag(CTFBlue).F[CTFFieldState], m.flag(CTFBlue).Timer = CTFFlagDropped, 5
	m.flag(CTFBlue).X = 1000
	b := m.base(CTFBlue)
	e.X, e.Y = b.X, b.Y
	m.step()
	if b.F[CTFFieldCaptures] != 0 || e.F[CTFFieldCarrying] != 1 {
		t.Fatal("captured while the own flag was away")
	}
	// Its own flag home: a capture.
	m.r.home(m.w, m.flag(CTFBlue))
	score := m.ps[blue].Score
	m.step()
	if b.F[CTFFieldCaptures] != 1 || e.F[CTFFieldCarrying] != 0 || m.ps[blue].Score != score+ctfCapturePoints {
		t.Fatalf("no capture: base %+v carrier %+v score %d", b, e, m.ps[blue].Score)
	}
	if hx, hy := ctfHome(m.w, CTFRed); redFlag.X != hx || redFlag.Y != hy || redFlag.F[CTFFieldState] != CTFFlagHome || redFlag.Owner != -1 {
		t.Errorf("captured flag not home: %+v", redFlag)
	}
	if !m.saw(CTFEventCapture, m.ps[blue].Entity, redFlag.ID) {
		t.Error("no capture event")
	}
	if m.r.Over(m.w) {
		t.Error("over after one capture")
	}
	// Touching your own flag at home does nothing.
	red := m.seatOf(t, CTFRed)
	r := m.avatar(red)
	r.X, r.Y = redFlag.X, redFlag.Y
	m.step()
	if r.F[CTFFieldCarrying] != 0 || redFlag.F[CTFFieldState] != CTFFlagHome {
		t.Error("a player picked up their own flag")
	}
}

func TestCTFHitCarrierDropsAndFlagReturns(t *testing.T) {
	m := newCTF(t, CTFConfig{}, 8)
	blue, red, red2 := m.seatOf(t, CTFBlue), 0, 2
	redFlag := m.pickUp(t, blue)
	c := m.avatar(blue)
	c.X, c.Y = 800, 400
	s := m.avatar(red)
	s.X, s.Y = 700, 400
	// A teammate in the line of fire takes no hit.
	mate := m.avatar(red2)
	mate.X, mate.Y = 740, 400
	if got := m.r.Apply(m.w, m.ps[red], &netcode.Input{Seq: 1, Buttons: 1 << CTFFire, AimX: 1}); got != 0 {
		t.Fatalf("fire rejected %d", got)
	}
	for range 5 {
		m.step()
	}
	if mate.F[CTFFieldHP] != ctfMaxHP {
		t.Error("friendly fire")
	}
	if c.F[CTFFieldHP] != ctfMaxHP-ctfHitDamage || c.F[CTFFieldCarrying] != 0 {
		t.Fatalf("carrier not hit: %+v", c)
	}
	if redFlag.F[CTFFieldState] != CTFFlagDropped || redFlag.X != 800 || redFlag.Y != 400 || redFlag.Owner != -1 {
		t.Fatalf("flag not dropped where its carrier was hit: %+v", redFlag)
	}
	if !m.saw(EventHit, m.ps[red].Entity, c.ID) || !m.saw(CTFEventDrop, c.ID, redFlag.ID) || m.ps[red].Score != ctfHitPoints {
		t.Errorf("events %v, score %d", m.events, m.ps[red].Score)
	}
	// Left alone, it goes home after CTFReturnTime: not a tick sooner.
	c.X, c.Y = 1400, 100 // out of reach
	dropped := m.w.Tick
	for m.w.Tick-dropped < uint64(CTFReturnTime*30)-5 {
		m.step()
	}
	if redFlag.F[CTFFieldState] != CTFFlagDropped {
		t.Fatalf("flag home %d ticks after the drop", m.w.Tick-dropped)
	}
	for range 5 {
		m.step()
	}
	if hx, hy := ctfHome(m.w, CTFRed); redFlag.F[CTFFieldState] != CTFFlagHome || redFlag.X != hx || redFlag.Y != hy {
		t.Fatalf("flag not home %d ticks after the drop: %+v", m.w.Tick-dropped, redFlag)
	}
	if !m.saw(CTFEventReturn, redFlag.ID, 0) {
		t.Error("no return event")
	}
	// Dropped again, a red touching it returns it at once, for points.
	m.pickUp(t, blue)
	m.r.drop(m.w, m.avatar(blue))
	redFlag.X, redFlag.Y = 600, 600
	m.avatar(blue).X = 1400
	mate.X, mate.Y = 610, 600
	score := m.ps[red2].Score
	m.step()
	if redFlag.F[CTFFieldState] != CTFFlagHome || m.ps[red2].Score != score+ctfReturnPoints || !m.saw(CTFEventReturn, redFlag.ID, mate.ID) {
		t.Errorf("touch did not return the flag: %+v, score %d", redFlag, m.ps[red2].Score)
	}
}

// Four hits kill; the dead cannot move, pick up or be hit, and respawn at
// their base.
func TestCTFDeathAndRespawn(t *testing.T) {
	m := newCTF(t, CTFConfig{}, 2)
	v := m.avatar(1)
	v.F[CTFFieldHP] = ctfHitDamage
	v.X, v.Y = 800, 400
	s := m.avatar(0)
	s.X, s.Y = 760, 400
	m.r.Apply(m.w, m.ps[0], &netcode.Input{Seq: 1, Buttons: 1 << CTFFire, AimX: 1})
	m.step()
	m.step()
	if v.F[CTFFieldHP] != 0 || !m.saw(EventKill, s.ID, v.ID) {
		t.Fatalf("not killed: %+v", v)
	}
	x := v.X
	if m.r.Apply(m.w, m.ps[1], &netcode.Input{Seq: 1, MoveX: 1}) != 0 || v.X != x {
		t.Error("a dead player moved")
	}
	f := m.flag(CTFRed)
	v.X, v.Y = f.X, f.Y
	m.step()
	if v.F[CTFFieldCarrying] != 0 {
		t.Error("a dead player picked up the flag")
	}
	for range int(ctfRespawn * 30) {
		m.step()
	}
	b := m.base(CTFBlue)
	if dx := v.X - b.X; v.F[CTFFieldHP] != ctfMaxHP || max(dx, -dx) > ctfSpawnRange {
		t.Errorf("no respawn at the base: %+v", v)
	}
}

// A carrier who leaves drops the flag where they stand.
func TestCTFCarrierLeaves(t *testing.T) {
	m := newCTF(t, CTFConfig{}, 4)
	blue := m.seatOf(t, CTFBlue)
	f := m.pickUp(t, blue)
	e := m.avatar(blue)
	e.X, e.Y = 500, 500
	m.step()
	m.r.Leave(m.w, m.ps[blue])
	m.w.Players[blue] = nil
	m.step()
	if f.F[CTFFieldState] != CTFFlagDropped || f.X != 500 || f.Y != 500 || f.Owner != -1 {
		t.Errorf("flag %+v after its carrier left", f)
	}
}

// The first team to the capture limit wins: its players rank first,
// sharing place 1, each by their own score.
func TestCTFEndsAtCaptureLimitAndRanksByTeam(t *testing.T) {
	m := newCTF(t, CTFConfig{CaptureLimit: 2}, 8)
	blue := m.seatOf(t, CTFBlue)
	m.ps[0].Score = 50 // a red with the best own score
	for range 2 {
		if m.r.Over(m.w) {
			t.Fatal("over before the limit")
		}
		m.pickUp(t, blue)
		b := m.base(CTFBlue)
		m.avatar(blue).X, m.avatar(blue).Y = b.X, b.Y
		m.step()
	}
	if !m.r.Over(m.w) {
		t.Fatal("not over at the capture limit")
	}
	res := m.r.Result(m.w)
	if len(res) != 8 {
		t.Fatalf("%d standings", len(res))
	}
	for i, s := range res {
		wantTeam, wantPlace := CTFBlue, uint16(1)
		if i >= 4 {
			wantTeam, wantPlace = CTFRed, 2
		}
		if s.Team != wantTeam || s.Place != wantPlace {
			t.Errorf("standing %d: %+v, want team %d place %d", i, s, wantTeam, wantPlace)
		}
	}
	if res[0].Entity != m.ps[blue].Entity || res[4].Score != 50 {
		t.Errorf("players not ranked by own score within a team: %+v", res)
	}
	// By the clock.
	m = newCTF(t, CTFConfig{Duration: time.Second}, 2)
	for range 29 {
		m.step()
	}
	if m.r.Over(m.w) {
		t.Fatal("over before its time")
	}
	m.step()
	if !m.r.Over(m.w) {
		t.Fatal("not over after its time")
	}
	// A draw: both teams share place 1.
	for _, s := range m.r.Result(m.w) {
		if s.Place != 1 || s.Team == 0 {
			t.Errorf("draw standing %+v", s)
		}
	}
}

func TestTeamStandings(t *testing.T) {
	w := NewWorld(NewCTF(CTFConfig{TeamSize: 3}).Spec(), 30, 1, 0)
	for i, p := range []struct {
		team  uint8
		score int32
	}{{1, 5}, {2, 1}, {3, 9}, {2, 7}, {1, 6}, {0, 99}} {
		w.Players[i] = &Player{Seat: i, ID: fmt.Sprint(i), Team: p.team, Score: p.score}
	}
	got := TeamStandings(w, []int32{2, 3, 2})
	want := []struct {
		id    string
		place uint16
	}{{"3", 1}, {"1", 1}, {"4", 2}, {"0", 2}, {"2", 2}, {"5", 4}}
	for i, s := range got {
		if s.PlayerID != want[i].id || s.Place != want[i].place {
			t.Fatalf("standings %+v, want %+v", got, want)
		}
	}
}

// A checkpoint does not hold Player.Team: the rules set it again from the
// avatars, and a restored match goes on as the original.
func TestCTFResumeRestoresTeams(t *testing.T) {
	orig := newScripted(NewCTF(CTFConfig{}))
	for range 100 {
		orig.tick()
	}
	twin := orig.restore(t)
	for _, p := range twin.w.Players {
		if p != nil {
			p.Team = 0
		}
	}
	orig.tick()
	twin.tick()
	if err := sameMatch(orig, twin); err != nil {
		t.Fatal(err)
	}
	for i, p := range twin.w.Players {
		if p != nil && (p.Team == 0 || p.Team != orig.w.Players[i].Team) {
			t.Errorf("seat %d: team %d after a restore", i, p.Team)
		}
	}
}

func TestCTFResumeRejectsCorruptStates(t *testing.T) {
	c := NewCTF(CTFConfig{})
	s := newScripted(c)
	for range 100 {
		s.tick()
	}
	good := s.r.(Portable).AppendState(nil)
	if _, err := c.ResumeRules(s.w, good); err != nil {
		t.Fatalf("good state: %v", err)
	}
	bad := map[string][]byte{
		"trailing byte": append(append([]byte(nil), good...), 0),
		"version 2":     append([]byte{2}, good[1:]...),
		"over flag 2":   append([]byte{1, 2}, good[2:]...),
		"9 seats":       append([]byte{1, 0, 9}, good[3:]...),
	}
	for n := range len(good) {
		bad[fmt.Sprintf("first %d bytes", n)] = good[:n]
	}
	for name, state := range bad {
		if _, err := c.ResumeRules(s.w, state); err == nil {
			t.Errorf("%s: resumed", name)
		}
	}
	worlds := map[string]func(w *World){
		"no red flag":       func(w *World) { w.Entities[2].Kind = CTFKindBase },
		"a teamless base":   func(w *World) { w.Entities[0].F[CTFFieldTeam] = 0 },
		"flag in state 7":   func(w *World) { w.Entities[3].F[CTFFieldState] = 7 },
		"carried by no one": func(w *World) { w.Entities[3].F[CTFFieldState], w.Entities[3].Owner = CTFFlagCarried, -1 },
	}
	for name, spoil := range worlds {
		var st WorldState
		s.w.SaveState(&st)
		w, err := RestoreWorld(c.Spec(), 30, &st)
		if err != nil {
			t.Fatal(err)
		}
		spoil(w)
		if _, err := c.ResumeRules(w, good); err == nil {
			t.Errorf("%s: resumed", name)
		}
	}
}

// ctfDriver plays a small ctf match of 8 with fixed inputs that fight and
// fetch flags, reusing its inputs (scripted's allocate).
type ctfDriver struct {
	w  *World
	r  Rules
	in []netcode.Input
}

func newCTFDriver() *ctfDriver {
	mode := NewCTF(CTFConfig{Width: 340, Height: 300})
	w := NewWorld(mode.Spec(), 30, 3, 0)
	d := &ctfDriver{w: w, r: mode.NewRules(w), in: make([]netcode.Input, 8)}
	for i := range 8 {
		p := &Player{Seat: i, ID: fmt.Sprint(i)}
		w.Players[i] = p
		d.r.Join(w, p)
	}
	return d
}

func (d *ctfDriver) tick() {
	w := d.w
	for i, p := range w.Players {
		in := &d.in[i]
		in.Seq++
		a := float64(w.Tick)*0.05 + float64(i)
		in.MoveX, in.MoveY = float32(math.Cos(a)), float32(math.Sin(a))
		in.Buttons, in.AimX, in.AimY = 0, 0, 0
		if (w.Tick+uint64(i))%8 == 0 {
			in.Buttons, in.AimX, in.AimY = 1<<CTFFire, float32(math.Sin(a)), float32(math.Cos(a*0.7))
		}
		d.r.Apply(w, p, in)
	}
	d.r.Step(w)
	w.EndTick()
	w.Tick++
}

// A full match allocates nothing per tick once warm.
func TestCTFTickAllocatesNothing(t *testing.T) {
	d := newCTFDriver()
	for range 400 {
		d.tick()
	}
	if n := testing.AllocsPerRun(300, d.tick); n != 0 {
		t.Errorf("%v allocations per tick", n)
	}
	var score int32
	for _, p := range d.w.Players {
		score += p.Score
	}
	if score == 0 {
		t.Error("a match where nobody scored")
	}
}

func BenchmarkCTFTick(b *testing.B) {
	d := newCTFDriver()
	for range 400 {
		d.tick()
	}
	b.ReportAllocs()
	for b.Loop() {
		d.tick()
	}
}

// A lagged shot is advanced (Guns.Advance): on the way it passes a
// teammate and hits the enemy carrier where the shooter saw them, in the
// tick that applies the input; the carrier drops the flag.
func TestCTFLaggedShotHitsOnTheWay(t *testing.T) {
	m := newCTF(t, CTFConfig{}, 8)
	m.w.Rewind = 6
	blue, red, red2 := m.seatOf(t, CTFBlue), 0, 2
	redFlag := m.pickUp(t, blue)
	for range 8 { // the carrier stands 70 u ahead, behind a teammate
		m.avatar(blue).X, m.avatar(blue).Y = 770, 400
		m.avatar(red).X, m.avatar(red).Y = 700, 400
		m.avatar(red2).X, m.avatar(red2).Y = 730, 400
		m.step()
	}
	// Seen 4 ticks ago: 4 × 600/30 = 80 u of flight, through the carrier.
	in := netcode.Input{Seq: 1, Buttons: 1 << CTFFire, AimX: 1, ViewTick: uint32(m.w.Tick - 5)}
	if got := m.r.Apply(m.w, m.ps[red], &in); got != 0 {
		t.Fatalf("fire rejected %d", got)
	}
	m.events = append(m.events, m.w.Events...)
	c := m.avatar(blue)
	if c.F[CTFFieldHP] != ctfMaxHP-ctfHitDamage || redFlag.F[CTFFieldState] != CTFFlagDropped || m.avatar(red2).F[CTFFieldHP] != ctfMaxHP {
		t.Fatalf("carrier %+v, flag %+v, mate hp %v", c, redFlag, m.avatar(red2).F[CTFFieldHP])
	}
	if !m.saw(EventHit, m.ps[red].Entity, c.ID) || !m.saw(CTFEventDrop, c.ID, redFlag.ID) {
		t.Errorf("events %v", m.events)
	}
}
