package netcode

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// wanderArena imitates the classic arena under wander bots (game/arena.go,
// bots/behavior.go) closely enough to weigh its snapshots: 8 players
// moving at 199.8 u/s who turn every 1 to 2 s and away from the edges,
// 64 NPCs at 100 u/s who turn every 1 to 3 s and bounce off the edges, on
// 2000×2000 with R = 500, at 30 ticks a second. Every player's input is
// applied every tick (ackSeq counts up, a lead is reported).
type wanderArena struct {
	rng    *rand.Rand
	ents   []Entity
	vx, vy []float32
	timer  []float32
}

const (
	waPlayers = 8
	waNPCs    = 64
	waSide    = 2000
	waDt      = float32(1.0 / 30)
)

func newWanderArena(seed uint64) *wanderArena {
	a := &wanderArena{rng: rand.New(rand.NewPCG(seed, 9))}
	for i := range waPlayers + waNPCs {
		e := Entity{ID: uint32(i + 1), Kind: 1, X: 16 + a.rng.Float32()*(waSide-32), Y: 16 + a.rng.Float32()*(waSide-32)}
		e.F[0] = 1
		if i < waPlayers {
			e.Kind, e.F[0] = 0, 100
		}
		a.ents = append(a.ents, e)
		a.vx, a.vy, a.timer = append(a.vx, 0), append(a.vy, 0), append(a.timer, 0)
	}
	return a
}

func (a *wanderArena) step() {
	for i := range a.ents {
		e := &a.ents[i]
		speed, turn := float32(100), 1+2*a.rng.Float32()
		if i < waPlayers {
			speed, turn = 200*0.999, 1+a.rng.Float32()
		}
		if a.timer[i] -= waDt; a.timer[i] <= 0 {
			h := a.rng.Float64() * 2 * math.Pi
			a.vx[i], a.vy[i] = float32(math.Cos(h))*speed, float32(math.Sin(h))*speed
			a.timer[i] = turn
		}
		if i < waPlayers { // turn away from the edges
			if e.X < 80 && a.vx[i] < 0 || e.X > waSide-80 && a.vx[i] > 0 {
				a.vx[i] = -a.vx[i]
			}
			if e.Y < 80 && a.vy[i] < 0 || e.Y > waSide-80 && a.vy[i] > 0 {
				a.vy[i] = -a.vy[i]
			}
		}
		e.X += a.vx[i] * waDt
		e.Y += a.vy[i] * waDt
		if e.X < 0 || e.X > waSide {
			a.vx[i], e.X = -a.vx[i], min(max(e.X, 0), waSide)
		}
		if e.Y < 0 || e.Y > waSide {
			a.vy[i], e.Y = -a.vy[i], min(max(e.Y, 0), waSide)
		}
	}
}

// wanderSnapshots runs the arena for ticks and calls f with every player's
// snapshot of every tick from tick warm on, after checking that a mirror
// fed the snapshots holds every entity in view as the server last sent it.
func wanderSnapshots(t testing.TB, seed uint64, warm, ticks uint32, f func(frame []byte)) {
	s := &Schema{PosScale: 8, Kinds: testKinds("player", "npc", "projectile"), Fields: []Field{{Name: "hp", Scale: 1}}}
	in := Interest{Radius: 500}.WithDefaults()
	a := newWanderArena(seed)
	views := make([]*View, waPlayers)
	mirrors := make([]*Mirror, waPlayers)
	for i := range views {
		views[i], mirrors[i] = NewView(s, in), NewMirror(s)
	}
	r := NewReader()
	var m ServerMsg
	var buf []byte
	for tick := range ticks {
		a.step()
		for p, v := range views {
			self := &a.ents[p]
			v.Begin(tick)
			for i := range a.ents {
				e := &a.ents[i]
				dx, dy := e.X-self.X, e.Y-self.Y
				v.Consider(e, int32(i), dx*dx+dy*dy, i == p)
			}
			v.Finish()
			h := SnapshotHeader{Tick: tick, AckSeq: 1000 + tick, LeadUs: 2000 + int32(a.rng.IntN(6000)), HasLead: true}
			buf = v.AppendSnapshot(buf[:0], &h)
			if err := r.DecodeServer(buf, &m, s); err != nil {
				t.Fatalf("tick %d player %d: %v", tick, p, err)
			}
			if m.Snapshot.Tick != h.Tick || m.Snapshot.AckSeq != h.AckSeq || m.Snapshot.LeadUs != h.LeadUs || !m.Snapshot.HasLead {
				t.Fatalf("tick %d player %d: header %+v, sent %+v", tick, p, m.Snapshot.SnapshotHeader, h)
			}
			if err := mirrors[p].Apply(&m.Snapshot); err != nil {
				t.Fatalf("tick %d player %d: %v", tick, p, err)
			}
			if got, ok := mirrors[p].Get(self.ID); !ok || got != s.Quantized(*self) {
				t.Fatalf("tick %d player %d: own avatar %+v, server %+v", tick, p, got, s.Quantized(*self))
			}
			if tick >= warm {
				f(buf)
			}
		}
	}
}

// TestWanderSnapshotBytes holds the size of a steady-state arena snapshot
// under wander bots (issue 10: at most 1.5 KB/s down per player, that is
// 51 bytes a snapshot at 30 Hz; aim well below).
func TestWanderSnapshotBytes(t *testing.T) {
	const budget = 44.0 // bytes per snapshot, on average
	total, n := 0, 0
	wanderSnapshots(t, 1, 300, 1800, func(frame []byte) {
		total += len(frame)
		n++
	})
	avg := float64(total) / float64(n)
	t.Logf("%d snapshots, %.2f bytes each, %.0f B/s at 30 Hz", n, avg, avg*30)
	if avg > budget {
		t.Errorf("a wander snapshot takes %.2f bytes on average, over the budget of %v", avg, budget)
	}
}

// TestWanderSnapshotComposition prints what the bytes of wander snapshots
// are made of (go test -run Composition -v ./netcode).
func TestWanderSnapshotComposition(t *testing.T) {
	parts := map[string]int{}
	n := 0
	wanderSnapshots(t, 2, 300, 1200, func(frame []byte) {
		n++
		if err := snapshotComposition(frame, parts); err != nil {
			t.Fatal(err)
		}
	})
	var keys []string
	total := 0
	for k, b := range parts {
		keys = append(keys, k)
		total += b
	}
	sort.Strings(keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d snapshots, %.2f bytes each:\n", n, float64(total)/float64(n))
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %-16s %6.2f B  %5.1f%%\n", k, float64(parts[k])/float64(n), 100*float64(parts[k])/float64(total))
	}
	t.Log(sb.String())
}

// snapshotComposition adds the bytes of each part of snapshot frame to
// parts.
func snapshotComposition(frame []byte, parts map[string]int) error {
	r := NewReader()
	r.Reset(frame)
	mark := 0
	took := func(k string) {
		parts[k] += r.pos() - mark
		mark = r.pos()
	}
	n, err := r.ArrayLen(64)
	if err != nil {
		return err
	}
	if _, err := r.Uint(255); err != nil {
		return err
	}
	took("0 array, type")
	if _, err := r.Uint(math.MaxUint32); err != nil {
		return err
	}
	took("1 tick")
	if _, err := r.Uint(math.MaxUint32); err != nil {
		return err
	}
	took("2 ackSeq")
	flags, err := r.Uint(math.MaxUint32)
	if err != nil {
		return err
	}
	took("3 flags")
	k, err := r.ArrayLen(1 << 20)
	if err != nil {
		return err
	}
	took("4 updates: array")
	for k > 0 {
		key, err := r.Uint(1 << 20)
		if err != nil {
			return err
		}
		took("4 updates: handle")
		k--
		mask := uint64(updateXY)
		if key&1 != 0 {
			if mask, err = r.Uint(255); err != nil {
				return err
			}
			k--
			took("4 updates: mask")
		}
		for ; mask != 0; mask >>= 1 {
			if mask&1 != 0 {
				if _, err := r.Int(math.MinInt32, math.MaxInt32); err != nil {
					return err
				}
				k--
			}
		}
		took("4 updates: deltas")
	}
	for i, name := range []string{"5 lead", "6 rejects", "7 events", "8 scores", "9 creates", "10 removes"} {
		if flags&(snapLead<<i) != 0 {
			if err := r.SkipRest(1); err != nil {
				return err
			}
			took(name)
		}
	}
	if err := r.SkipRest(n - snapFixed - bits.OnesCount64(flags&snapParts)); err != nil {
		return err
	}
	return r.End()
}

// The example of PROTOCOL.md §9, byte for byte.
func TestSnapshotExampleBytes(t *testing.T) {
	s := testSchema()
	v := NewView(s, Interest{Radius: 1000})
	ents := make([]Entity, 4)
	for i := range ents {
		ents[i] = Entity{ID: uint32(i + 1), X: 100, Y: 100}
	}
	v.Begin(299)
	for i := range ents {
		v.Consider(&ents[i], int32(i), 0, false)
	}
	v.Finish()
	v.AppendSnapshot(nil, &SnapshotHeader{Tick: 299, AckSeq: 40})
	ents[3].X += 27.0 / 8
	ents[3].Y -= 5.0 / 8
	v.Begin(300)
	for i := range ents {
		v.Consider(&ents[i], int32(i), 0, false)
	}
	v.Finish()
	got := v.AppendSnapshot(nil, &SnapshotHeader{Tick: 300, AckSeq: 41, LeadUs: 2500, HasLead: true})
	want := []byte{0x96, 0x03, 0xcd, 0x01, 0x2c, 0x29, 0x02, 0x93, 0x06, 0x1b, 0xfb, 0xcd, 0x09, 0xc4}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

// A result's standings, byte for byte (PROTOCOL.md §5 "result"): five
// elements without a team, six with one; other lengths are malformed.
func TestResultBytes(t *testing.T) {
	got := AppendResult(nil, OutcomeNormal, []Standing{
		{PlayerID: "a", Name: "A", Entity: 7, Score: -1, Place: 1},
		{PlayerID: "b", Name: "B", Entity: 8, Score: 5, Place: 2, Team: 2},
	})
	want := []byte{0x93, 0x04, 0x00, 0x92,
		0x95, 0xa1, 'a', 0xa1, 'A', 0x07, 0xff, 0x01,
		0x96, 0xa1, 'b', 0xa1, 'B', 0x08, 0x05, 0x02, 0x02}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
	r := NewReader()
	var m ServerMsg
	for _, bad := range [][]byte{
		{0x93, 0x04, 0x00, 0x91, 0x94, 0xa1, 'a', 0xa1, 'A', 0x07, 0xff},
		{0x93, 0x04, 0x00, 0x91, 0x97, 0xa1, 'a', 0xa1, 'A', 0x07, 0xff, 0x01, 0x02, 0x03},
		{0x93, 0x04, 0x00, 0x91, 0x96, 0xa1, 'a', 0xa1, 'A', 0x07, 0xff, 0x01, 0xcd, 0x01, 0x00}, // team 256
	} {
		if err := r.DecodeServer(bad, &m, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: %v, want malformed", bad, err)
		}
	}
}

// A snapshot leaves out its empty parts, and a quiet one is only its fixed
// elements.
func TestSnapshotLeavesOutEmptyParts(t *testing.T) {
	s := testSchema()
	v := NewView(s, Interest{Radius: 1000})
	e := Entity{ID: 5, X: 10, Y: 10}
	v.Begin(1)
	v.Consider(&e, 0, 0, true)
	v.Finish()
	v.AppendSnapshot(nil, &SnapshotHeader{Tick: 1})
	v.Begin(2)
	v.Consider(&e, 0, 0, true)
	v.Finish()
	if got, want := v.AppendSnapshot(nil, &SnapshotHeader{Tick: 2, AckSeq: 7}), []byte{0x95, 0x03, 0x02, 0x07, 0x00, 0x90}; !bytes.Equal(got, want) {
		t.Fatalf("quiet snapshot % x, want % x", got, want)
	}
	// Every part present: they follow in flag order and decode back.
	e.F[0] = 3 // a field alone: the masked form
	v.Begin(3)
	v.Consider(&e, 0, 0, true)
	v.Consider(&Entity{ID: 6}, 1, 0, false)
	v.Finish()
	h := SnapshotHeader{Tick: 3, AckSeq: 8, LeadUs: -40, HasLead: true,
		Rejects: []Reject{{Seq: 8, Code: RejectCooldown}}, Events: []Event{{Type: 1, A: 5, B: 6}}, Scores: []Score{{Entity: 5, Score: 1, Away: true}}}
	frame := v.AppendSnapshot(nil, &h)
	var m ServerMsg
	if err := NewReader().DecodeServer(frame, &m, s); err != nil {
		t.Fatal(err)
	}
	sn := &m.Snapshot
	if !reflect.DeepEqual(sn.SnapshotHeader, h) || sn.Reset || len(sn.Creates) != 1 || sn.Creates[0].ID != 6 ||
		len(sn.Updates) != 1 || sn.Updates[0].Mask != 4 || sn.Updates[0].D[2] != 3 || len(sn.Removes) != 0 {
		t.Fatalf("full snapshot: %+v", sn)
	}
	if frame[4] != snapLead|snapRejects|snapEvents|snapScores|snapCreates {
		t.Fatalf("flags %#x", frame[4])
	}
}

// The decoder ignores flags it does not know and the parts after its own,
// and refuses flags that call for more parts than the frame holds.
func TestSnapshotFlagsDecode(t *testing.T) {
	s := testSchema()
	r := NewReader()
	var m ServerMsg
	// A later revision's bit 7 and its part after the lead.
	frame := []byte{0x97, 0x03, 0x0a, 0x07, 0xcc, 0x83, 0x93, 0x06, 0x01, 0x02, 0x10, 0xa1, 'x'}
	if err := r.DecodeServer(frame, &m, s); err != nil {
		t.Fatal(err)
	}
	sn := &m.Snapshot
	if sn.Tick != 10 || sn.AckSeq != 7 || !sn.Reset || !sn.HasLead || sn.LeadUs != 16 ||
		len(sn.Updates) != 1 || sn.Updates[0] != (Update{Handle: 3, Mask: 3, D: [2 + MaxFields]int64{1, 2}}) {
		t.Fatalf("snapshot %+v", sn)
	}
	for name, bad := range map[string][]byte{
		"lead flagged, absent":       {0x95, 0x03, 0x0a, 0x07, 0x02, 0x90},
		"removes flagged, absent":    {0x96, 0x03, 0x0a, 0x07, 0x42, 0x90, 0x10},
		"fewer than five elements":   {0x94, 0x03, 0x0a, 0x07, 0x00},
		"mask beyond the values":     {0x95, 0x03, 0x0a, 0x07, 0x00, 0x93, 0x07, 0x10, 0x01},
		"update cut after its key":   {0x95, 0x03, 0x0a, 0x07, 0x00, 0x92, 0x06, 0x01},
		"masked update without mask": {0x95, 0x03, 0x0a, 0x07, 0x00, 0x91, 0x07},
	} {
		if err := r.DecodeServer(bad, &m, s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Handles of every size travel in the key of an update (handle·2 beyond
// one byte too), and the mirror follows.
func TestUpdatesOfManyHandles(t *testing.T) {
	s := testSchema()
	v := NewView(s, Interest{Radius: 1e6})
	mir := NewMirror(s)
	r := NewReader()
	var m ServerMsg
	ents := make([]Entity, 300)
	for i := range ents {
		ents[i] = Entity{ID: uint32(i + 1), X: float32(i), Y: 5}
	}
	for tick := range uint32(4) {
		v.Begin(tick)
		for i := range ents {
			e := &ents[i]
			switch i % 3 {
			case 0:
				e.X += 1
				e.Y -= 20
			case 1:
				e.Y += 0.5
			case 2:
				e.F[1] += 0.25
			}
			v.Consider(e, int32(i), 0, true)
		}
		v.Finish()
		if err := r.DecodeServer(v.AppendSnapshot(nil, &SnapshotHeader{Tick: tick}), &m, s); err != nil {
			t.Fatal(err)
		}
		if err := mir.Apply(&m.Snapshot); err != nil {
			t.Fatal(err)
		}
		if tick > 0 && len(m.Snapshot.Updates) != len(ents) {
			t.Fatalf("tick %d: %d updates", tick, len(m.Snapshot.Updates))
		}
		for _, e := range ents {
			if got, _ := mir.Get(e.ID); got != s.Quantized(e) {
				t.Fatalf("tick %d: entity %d %+v, want %+v", tick, e.ID, got, s.Quantized(e))
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

// matchedExample is the matched message of PROTOCOL.md §9: a tag match.
func matchedExample() []byte {
	return AppendMatched(nil, &Matched{
		MatchID: "m1", Mode: "tag", Entity: 5, TickRate: 30, WorldW: 1000, WorldH: 1000,
		Schema: Schema{PosScale: 8,
			Kinds:  []Kind{{Name: "player", Shape: ShapeCircle, Color: "#4fc3f7", Size: 16, Label: LabelOwner, Team: -1}},
			Fields: []Field{{Name: "it", Scale: 1}}},
		EndTick: 3600,
		Info: ModeInfo{Speed: 220, AvatarRadius: 16, InterestRadius: 600,
			Events: []EventDecl{{Type: 4, Name: "tagged", A: EventArgPlayer, B: EventArgPlayer}}},
	})
}

// The matched example of PROTOCOL.md §9, byte for byte, against the golden
// file testdata/matched_tag.hex (go test -run MatchedExample -update
// rewrites it: do so only for a deliberate change of the layout, and
// update the document with it).
func TestMatchedExampleBytes(t *testing.T) {
	got := matchedExample()
	var sb strings.Builder
	for i, b := range got {
		if i > 0 {
			if i%16 == 0 {
				sb.WriteByte('\n')
			} else {
				sb.WriteByte(' ')
			}
		}
		fmt.Fprintf(&sb, "%02x", b)
	}
	sb.WriteByte('\n')
	const golden = "testdata/matched_tag.hex"
	if *update {
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if sb.String() != string(want) {
		t.Fatalf("matched bytes changed:\n%s\nwant (%s):\n%s", sb.String(), golden, want)
	}
	var m ServerMsg
	if err := NewReader().DecodeServer(got, &m, nil); err != nil || m.Matched.Info.Speed != 220 || m.Matched.Schema.Kinds[0].Label != LabelOwner {
		t.Fatalf("decode: %v %+v", err, m.Matched)
	}
}

// A score entry that names its player, byte for byte (PROTOCOL.md §9):
// [[5, 3, false, "ann"]].
func TestNamedScoreBytes(t *testing.T) {
	got := appendSnapshotLists(nil, &SnapshotHeader{Scores: []Score{{Entity: 5, Score: 3, Name: "ann"}, {Entity: 6, Score: -1, Away: true}}})
	want := []byte{0x92, 0x94, 0x05, 0x03, 0xc2, 0xa3, 'a', 'n', 'n', 0x93, 0x06, 0xff, 0xc3}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}
