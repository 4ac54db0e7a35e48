package match

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"skirmish/game"
	"skirmish/netcode"
)

// cpWorld is a match's world and rules without the match around them.
type cpWorld struct {
	mode game.Mode
	w    *game.World
	r    game.Rules
	seq  uint32
	acks []uint32
	ids  []string // player IDs, names, keys: made once
	in   netcode.Input
}

// newCPWorld seats every seat of mode and plays ticks with every player
// moving and firing as often as the cooldown allows.
func newCPWorld(mode game.Mode, ticks int) *cpWorld {
	spec := mode.Spec()
	w := game.NewWorld(spec, 30, 99, 7<<20)
	c := &cpWorld{mode: mode, w: w, r: mode.NewRules(w), acks: make([]uint32, spec.MaxPlayers)}
	for i := range spec.MaxPlayers {
		c.ids = append(c.ids, fmt.Sprintf("player-%04d-5f2c8d1e", i))
		p := &game.Player{Seat: i, ID: c.ids[i], Name: fmt.Sprintf("Näme %d", i)}
		w.Players[i] = p
		c.r.Join(w, p)
	}
	for range ticks {
		c.tick()
	}
	return c
}

// tick applies one input per seated player, then steps the world.
func (c *cpWorld) tick() {
	c.seq++
	w := c.w
	for i, p := range w.Players {
		if p == nil {
			continue
		}
		a := float32(int(c.seq)*3+i*40) * 0.01
		in := &c.in // Apply's argument escapes: reused, not allocated
		*in = netcode.Input{Seq: c.seq, MoveX: 0.6, MoveY: 0.8, Buttons: 1 << game.ArenaFire, AimX: a - 1, AimY: 1 - a/2}
		if (int(c.seq)/60+i)%2 == 0 {
			in.MoveX, in.MoveY = -0.8, -0.6
		}
		c.r.Apply(w, p, in)
		c.acks[i] = c.seq
	}
	c.r.Step(w)
	w.EndTick()
	w.Tick++
}

// fill sets cp to c's checkpoint, as a match does: it allocates nothing
// once cp's slices have room.
func (c *cpWorld) fill(cp *Checkpoint) {
	cp.MatchID, cp.Mode = "m-00000000000000a7", c.mode.Spec().Name
	cp.TickRate, cp.EndTick, cp.Serial = 30, 5400, 7
	c.w.SaveState(&cp.World)
	cp.Rules = c.r.(game.Portable).AppendState(cp.Rules[:0])
	cp.Seats = cp.Seats[:0]
	for i, p := range c.w.Players {
		var s SeatState
		if p != nil {
			s = SeatState{PlayerID: p.ID, Name: p.Name, Key: c.ids[i], Entity: p.Entity, Score: p.Score,
				Ack: c.acks[i], Away: p.Away}
		}
		cp.Seats = append(cp.Seats, s)
	}
}

// restoreCP rebuilds the world and rules of cp, as an adopting node does.
func restoreCP(t testing.TB, mode game.Mode, cp *Checkpoint) *cpWorld {
	t.Helper()
	w, err := game.RestoreWorld(mode.Spec(), int(cp.TickRate), &cp.World)
	if err != nil {
		t.Fatalf("restore world: %v", err)
	}
	r, err := mode.(game.Resumable).ResumeRules(w, cp.Rules)
	if err != nil {
		t.Fatalf("resume rules: %v", err)
	}
	c := &cpWorld{mode: mode, w: w, r: r, acks: make([]uint32, len(cp.Seats))}
	for i, s := range cp.Seats {
		c.ids = append(c.ids, s.Key)
		c.acks[i] = s.Ack
		c.seq = max(c.seq, s.Ack)
		if s.PlayerID != "" {
			w.Players[i] = &game.Player{Seat: i, ID: s.PlayerID, Name: s.Name, Entity: s.Entity, Score: s.Score, Away: s.Away}
		}
	}
	return c
}

func TestCheckpointRoundTripResumesTheMatch(t *testing.T) {
	for _, mode := range []game.Mode{game.NewArena(game.ArenaConfig{}), game.NewTag(game.TagConfig{})} {
		t.Run(mode.Spec().Name, func(t *testing.T) {
			orig := newCPWorld(mode, 300)
			// A free seat and a player away.
			orig.r.Leave(orig.w, orig.w.Players[3])
			orig.w.Players[3] = nil
			orig.tick()
			orig.w.Players[5].Away = true
			var cp Checkpoint
			orig.fill(&cp)
			if len(cp.World.FreeSlots) == 0 || cp.Seats[3].PlayerID != "" {
				t.Fatalf("weak checkpoint: free slots %v, seat 3 %+v", cp.World.FreeSlots, cp.Seats[3])
			}
			buf := AppendCheckpoint([]byte("prefix"), &cp)
			if string(buf[:6]) != "prefix" {
				t.Fatal("AppendCheckpoint did not append")
			}
			var got Checkpoint
			if err := DecodeCheckpoint(buf[6:], &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(cp, got) {
				t.Fatalf("round trip:\n%+v\n%+v", cp, got)
			}
			if !bytes.Equal(buf[6:], encodeWithEncoder(&cp)) {
				t.Fatal("AppendCheckpoint differs from msgpack.Encoder")
			}
			// Steady state: neither encoding nor decoding allocates.
			if n := testing.AllocsPerRun(20, func() { buf = AppendCheckpoint(buf[:0], &cp) }); n != 0 {
				t.Errorf("AppendCheckpoint allocates %v times with room", n)
			}
			// (With its own decoder: the race detector drops sync.Pool
			// items at random.)
			dec := newCPDecoder()
			if n := testing.AllocsPerRun(20, func() { _ = dec.decodeAll(buf, &got) }); n != 0 {
				t.Errorf("DecodeCheckpoint allocates %v times into a used checkpoint", n)
			}

			// The copy restored from the bytes goes on as the original.
			twin := restoreCP(t, mode, &got)
			for tick := range 150 {
				orig.tick()
				twin.tick()
				if tick == 40 {
					// A player comes back to a free seat in both.
					for _, c := range []*cpWorld{orig, twin} {
						p := &game.Player{Seat: 3, ID: "back", Name: "back"}
						c.w.Players[3] = p
						c.r.Join(c.w, p)
					}
				}
				var a, b Checkpoint
				orig.fill(&a)
				twin.fill(&b)
				a.Seats, b.Seats = nil, nil // keys differ: twin's are the decoded ones
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("tick %d after the restore: the worlds differ", tick)
				}
				for i, p := range orig.w.Players {
					if q := twin.w.Players[i]; (p == nil) != (q == nil) || (p != nil && *p != *q) {
						t.Fatalf("tick %d: seat %d %+v / %+v", tick, i, p, q)
					}
				}
			}
			if a, b := orig.w.Rng.Uint64(), twin.w.Rng.Uint64(); a != b {
				t.Fatalf("next draws %d / %d", a, b)
			}
		})
	}
}

// encodeWithEncoder is AppendCheckpoint written with msgpack.Encoder
// calls: the reference AppendCheckpoint's bytes must equal.
func encodeWithEncoder(cp *Checkpoint) []byte {
	var buf bytes.Buffer
	encodeCheckpoint(msgpack.NewEncoder(&buf), cp)
	return buf.Bytes()
}

func encodeCheckpoint(e *msgpack.Encoder, cp *Checkpoint) {
	_ = e.EncodeArrayLen(cpFields)
	_ = e.EncodeUint(CheckpointVersion)
	_ = e.EncodeString(cp.MatchID)
	_ = e.EncodeString(cp.Mode)
	_ = e.EncodeUint(uint64(cp.TickRate))
	_ = e.EncodeUint(uint64(cp.EndTick))
	_ = e.EncodeUint(cp.Serial)
	ws := &cp.World
	_ = e.EncodeArrayLen(worldFields)
	_ = e.EncodeUint(ws.Tick)
	_ = e.EncodeBytes(ws.Rng)
	_ = e.EncodeUint(uint64(ws.NextID))
	_ = e.EncodeInt(int64(ws.Slots))
	_ = e.EncodeArrayLen(len(ws.FreeSlots))
	for _, s := range ws.FreeSlots {
		_ = e.EncodeInt(int64(s))
	}
	_ = e.EncodeArrayLen(len(ws.Entities))
	for i := range ws.Entities {
		en := &ws.Entities[i]
		_ = e.EncodeArrayLen(entityFields)
		_ = e.EncodeUint(uint64(en.ID))
		_ = e.EncodeUint(uint64(en.Kind))
		_ = e.EncodeFloat32(en.X)
		_ = e.EncodeFloat32(en.Y)
		n := len(en.F)
		for n > 0 && math.Float32bits(en.F[n-1]) == 0 {
			n--
		}
		_ = e.EncodeArrayLen(n)
		for _, f := range en.F[:n] {
			_ = e.EncodeFloat32(f)
		}
		_ = e.EncodeFloat32(en.VX)
		_ = e.EncodeFloat32(en.VY)
		_ = e.EncodeFloat32(en.Radius)
		_ = e.EncodeInt(int64(en.Owner))
		_ = e.EncodeFloat32(en.Timer)
		_ = e.EncodeInt(int64(en.Slot))
	}
	_ = e.EncodeBytes(cp.Rules)
	_ = e.EncodeArrayLen(len(cp.Seats))
	for i := range cp.Seats {
		s := &cp.Seats[i]
		_ = e.EncodeArrayLen(seatFields)
		_ = e.EncodeString(s.PlayerID)
		_ = e.EncodeString(s.Name)
		_ = e.EncodeString(s.Key)
		_ = e.EncodeUint(uint64(s.Entity))
		_ = e.EncodeInt(int64(s.Score))
		_ = e.EncodeUint(uint64(s.Ack))
		_ = e.EncodeBool(s.Away)
	}
}

// AppendCheckpoint writes what msgpack.Encoder would, for every size class
// of every value.
func TestAppendCheckpointIsMsgpackEncoders(t *testing.T) {
	c := newCPWorld(game.NewArena(game.ArenaConfig{}), 300)
	var cp Checkpoint
	c.fill(&cp)
	if got, want := AppendCheckpoint(nil, &cp), encodeWithEncoder(&cp); !bytes.Equal(got, want) {
		t.Fatalf("arena checkpoint:\n%x\n%x", got, want)
	}
	str := func(n int) string { return strings.Repeat("é", n/2) + strings.Repeat("x", n%2) }
	uints := []uint64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxUint64}
	ints := []int64{0, -1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64, 127, 128, 1<<31 - 1}
	for i, n := range []int{0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000} {
		cp := Checkpoint{MatchID: str(n), Mode: str(i), TickRate: uint32(uints[i%len(uints)]),
			EndTick: math.MaxUint32, Serial: uints[(i+3)%len(uints)]}
		cp.World.Tick = uints[i]
		cp.World.Rng = make([]byte, n)
		cp.World.NextID = uint32(uints[(i+5)%len(uints)])
		cp.World.Slots = int32(ints[i%len(ints)])
		cp.World.FreeSlots = make([]int32, min(n, 20000))
		for j := range cp.World.FreeSlots {
			cp.World.FreeSlots[j] = int32(ints[j%len(ints)])
		}
		cp.World.Entities = make([]game.Entity, min(n, 3000))
		for j := range cp.World.Entities {
			e := &cp.World.Entities[j]
			e.ID, e.Kind, e.X, e.Y = uint32(j*977), uint8(j), float32(j)/3, -float32(j)
			for k := range j % (netcode.MaxFields + 1) {
				e.F[k] = float32(k) - 0.5
			}
			e.Owner, e.Slot, e.Timer = int(ints[j%len(ints)]), int32(ints[(j+1)%len(ints)]), float32(math.Inf(-1))
		}
		if i%2 == 0 {
			cp.Rules = make([]byte, n)
		}
		for j := range min(n, 300) {
			cp.Seats = append(cp.Seats, SeatState{PlayerID: str(j), Name: str(n % 300), Key: str(j % 40),
				Entity: uint32(j), Score: int32(ints[j%len(ints)]), Ack: uint32(uints[j%len(uints)]), Away: j%2 == 1})
		}
		if got, want := AppendCheckpoint(nil, &cp), encodeWithEncoder(&cp); !bytes.Equal(got, want) {
			t.Errorf("size %d: differs from the Encoder's (%d / %d bytes)", n, len(got), len(want))
		}
	}
}

// hostile returns encodings of a checkpoint cut after a valid prefix and
// followed by a header that claims far more than there is.
func hostileCheckpoints() map[string][]byte {
	out := map[string][]byte{
		"dd 7f ff ff ff": {0xdd, 0x7f, 0xff, 0xff, 0xff},
		"array32 max":    {0xdd, 0xff, 0xff, 0xff, 0xff},
		"str32 max":      {0xdb, 0xff, 0xff, 0xff, 0xff},
		"map32 max":      {0xdf, 0x7f, 0xff, 0xff, 0xff},
		"bin32 max":      {0xc6, 0x7f, 0xff, 0xff, 0xff},
		"ext32 max":      {0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01},
	}
	enc := func(f func(e *msgpack.Encoder)) []byte {
		var buf bytes.Buffer
		e := msgpack.NewEncoder(&buf)
		f(e)
		// Bytes after the header, so that only the header is wrong.
		return append(buf.Bytes(), bytes.Repeat([]byte{0xc0}, 200)...)
	}
	head := func(e *msgpack.Encoder) {
		_ = e.EncodeArrayLen(cpFields)
		_ = e.EncodeUint(CheckpointVersion)
	}
	header := func(e *msgpack.Encoder) {
		head(e)
		_ = e.EncodeString("m")
		_ = e.EncodeString("arena")
		_ = e.EncodeUint(30)
		_ = e.EncodeUint(5400)
		_ = e.EncodeUint(1)
	}
	world := func(e *msgpack.Encoder) {
		_ = e.EncodeArrayLen(worldFields)
		_ = e.EncodeUint(10)
		_ = e.EncodeBytes([]byte("pcg:0123456789abcdef"))
		_ = e.EncodeUint(100)
		_ = e.EncodeUint(2)
	}
	raw := func(b ...byte) func(e *msgpack.Encoder) {
		return func(e *msgpack.Encoder) { _, _ = e.Writer().Write(b) }
	}
	huge32 := []byte{0x7f, 0xff, 0xff, 0xff}
	out["match id str32"] = enc(func(e *msgpack.Encoder) { head(e); raw(append([]byte{0xdb}, huge32...)...)(e) })
	out["match id bin32"] = enc(func(e *msgpack.Encoder) { head(e); raw(append([]byte{0xc6}, huge32...)...)(e) })
	out["match id 256+1"] = enc(func(e *msgpack.Encoder) { head(e); _ = e.EncodeString(string(make([]byte, 257))) })
	out["mode str16 beyond"] = enc(func(e *msgpack.Encoder) { head(e); _ = e.EncodeString("m"); raw(0xda, 0x00, 0xff)(e) })
	out["world array32"] = enc(func(e *msgpack.Encoder) { header(e); raw(append([]byte{0xdd}, huge32...)...)(e) })
	out["rng bin32"] = enc(func(e *msgpack.Encoder) {
		header(e)
		_ = e.EncodeArrayLen(worldFields)
		_ = e.EncodeUint(10)
		raw(append([]byte{0xc6}, huge32...)...)(e)
	})
	out["free slots array32"] = enc(func(e *msgpack.Encoder) { header(e); world(e); raw(0xdd, 0x00, 0x10, 0x00, 0x00)(e) })
	out["free slots beyond limit"] = enc(func(e *msgpack.Encoder) { header(e); world(e); raw(append([]byte{0xdd}, huge32...)...)(e) })
	out["entities array16"] = enc(func(e *msgpack.Encoder) { header(e); world(e); _ = e.EncodeArrayLen(0); raw(0xdc, 0xff, 0xff)(e) })
	out["entity of 9 fields"] = enc(func(e *msgpack.Encoder) {
		header(e)
		world(e)
		_ = e.EncodeArrayLen(0)
		_ = e.EncodeArrayLen(1)
		_ = e.EncodeArrayLen(entityFields)
		_ = e.EncodeUint(1)
		_ = e.EncodeUint(0)
		_ = e.EncodeFloat32(1)
		_ = e.EncodeFloat32(1)
		_ = e.EncodeArrayLen(netcode.MaxFields + 1)
		for range netcode.MaxFields + 1 {
			_ = e.EncodeFloat32(1)
		}
	})
	rules := func(e *msgpack.Encoder) {
		header(e)
		world(e)
		_ = e.EncodeArrayLen(0)
		_ = e.EncodeArrayLen(0)
	}
	out["rules bin32 at the limit"] = enc(func(e *msgpack.Encoder) { rules(e); raw(0xc6, 0x00, 0x10, 0x00, 0x00)(e) })
	out["rules bin32 max"] = enc(func(e *msgpack.Encoder) { rules(e); raw(append([]byte{0xc6}, huge32...)...)(e) })
	out["seats array16 256"] = enc(func(e *msgpack.Encoder) { rules(e); _ = e.EncodeBytes(nil); raw(0xdc, 0x01, 0x00)(e) })
	out["seats array32 max"] = enc(func(e *msgpack.Encoder) { rules(e); _ = e.EncodeBytes(nil); raw(append([]byte{0xdd}, huge32...)...)(e) })
	out["seat key str32"] = enc(func(e *msgpack.Encoder) {
		rules(e)
		_ = e.EncodeBytes(nil)
		_ = e.EncodeArrayLen(1)
		_ = e.EncodeArrayLen(seatFields)
		_ = e.EncodeString("p")
		_ = e.EncodeString("n")
		raw(append([]byte{0xdb}, huge32...)...)(e)
	})
	return out
}

// A hostile header is an error at once, and costs next to nothing.
func TestDecodeCheckpointRejectsHostileHeaders(t *testing.T) {
	for name, b := range hostileCheckpoints() {
		var cp Checkpoint
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		err := DecodeCheckpoint(b, &cp)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: decoded", name)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%s: decoding allocated %d bytes", name, n)
		}
		if took > 100*time.Millisecond {
			t.Errorf("%s: decoding took %v", name, took)
		}
	}
}

func TestDecodeCheckpointRejectsDamage(t *testing.T) {
	c := newCPWorld(game.NewArena(game.ArenaConfig{}), 100)
	var cp Checkpoint
	c.fill(&cp)
	good := AppendCheckpoint(nil, &cp)
	var got Checkpoint
	for n := range len(good) {
		if err := DecodeCheckpoint(good[:n], &got); err == nil {
			t.Fatalf("the first %d of %d bytes decoded", n, len(good))
		}
	}
	bad := map[string][]byte{
		"trailing byte": append(bytes.Clone(good), 0xc0),
		"version 2":     append([]byte{good[0], 2}, good[2:]...),
		"8 fields":      append([]byte{0x98}, good[1:]...),
		"10 fields":     append([]byte{0x9a}, good[1:]...),
		"a map":         {0x80},
		"nil":           {0xc0},
		"empty":         {},
	}
	for name, b := range bad {
		if err := DecodeCheckpoint(b, &got); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// Still a good decoder after all that.
	if err := DecodeCheckpoint(good, &got); err != nil || !reflect.DeepEqual(cp, got) {
		t.Fatalf("good checkpoint after bad ones: %v", err)
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	arena := game.NewArena(game.ArenaConfig{})
	c := newCPWorld(arena, 60)
	var cp Checkpoint
	c.fill(&cp)
	f.Add(AppendCheckpoint(nil, &cp))
	small := newCPWorld(game.NewArena(game.ArenaConfig{Players: 2, NPCs: 2}), 20)
	small.fill(&cp)
	f.Add(AppendCheckpoint(nil, &cp))
	f.Add([]byte{0xdd, 0x7f, 0xff, 0xff, 0xff})
	for _, b := range hostileCheckpoints() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cp Checkpoint
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := DecodeCheckpoint(data, &cp)
		runtime.ReadMemStats(&after)
		// What decoding allocates is in proportion to the input.
		if n, most := after.TotalAlloc-before.TotalAlloc, uint64(16*len(data)+1<<20); n > most {
			t.Fatalf("decoding %d bytes allocated %d", len(data), n)
		}
		if err != nil {
			return
		}
		enc := AppendCheckpoint(nil, &cp)
		if !bytes.Equal(enc, encodeWithEncoder(&cp)) {
			t.Fatal("AppendCheckpoint differs from msgpack.Encoder")
		}
		var again Checkpoint
		if err := DecodeCheckpoint(enc, &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if enc2 := AppendCheckpoint(nil, &again); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not stable")
		}
		// Whatever decodes is restored or refused, without a panic, and a
		// restored match steps.
		for _, mode := range []game.Mode{arena, game.NewTag(game.TagConfig{})} {
			w, err := game.RestoreWorld(mode.Spec(), 30, &cp.World)
			if err != nil {
				continue
			}
			r, err := mode.(game.Resumable).ResumeRules(w, cp.Rules)
			if err != nil {
				continue
			}
			for i, s := range cp.Seats {
				if i < len(w.Players) && s.PlayerID != "" {
					w.Players[i] = &game.Player{Seat: i, ID: s.PlayerID, Entity: s.Entity, Score: s.Score}
				}
			}
			for _, p := range w.Players {
				if p != nil {
					r.Apply(w, p, &netcode.Input{Seq: 1, MoveX: 1, Buttons: 1 << game.ArenaFire, AimX: 1})
				}
			}
			r.Step(w)
			w.EndTick()
			_ = r.Over(w)
		}
	})
}

// BenchmarkCheckpoint is what a match's host pays every checkpoint
// interval: SaveState, the rules' state, the seats and the encoding, for a
// full default arena (8 players, 64 NPCs, shots in flight).
func BenchmarkCheckpoint(b *testing.B) {
	c := newCPWorld(game.NewArena(game.ArenaConfig{}), 300)
	var cp Checkpoint
	c.fill(&cp)
	buf := AppendCheckpoint(nil, &cp)
	shots := 0
	for _, e := range c.w.Entities {
		if e.Kind == game.KindProjectile {
			shots++
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		c.fill(&cp)
		buf = AppendCheckpoint(buf[:0], &cp)
	}
	b.ReportMetric(float64(len(buf)), "bytes/checkpoint")
	b.ReportMetric(float64(len(c.w.Entities)), "entities")
	b.ReportMetric(float64(shots), "shots")
}

// BenchmarkCheckpointEncoder is BenchmarkCheckpoint through
// msgpack.Encoder calls into a reused buffer, for comparison.
func BenchmarkCheckpointEncoder(b *testing.B) {
	c := newCPWorld(game.NewArena(game.ArenaConfig{}), 300)
	var cp Checkpoint
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	b.ReportAllocs()
	for b.Loop() {
		c.fill(&cp)
		buf.Reset()
		encodeCheckpoint(e, &cp)
	}
	b.ReportMetric(float64(buf.Len()), "bytes/checkpoint")
}

// BenchmarkDecodeCheckpoint is what an adopting node pays once per match:
// decoding, RestoreWorld and ResumeRules.
func BenchmarkDecodeCheckpoint(b *testing.B) {
	mode := game.NewArena(game.ArenaConfig{})
	c := newCPWorld(mode, 300)
	var cp Checkpoint
	c.fill(&cp)
	buf := AppendCheckpoint(nil, &cp)
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeCheckpoint(buf, &cp); err != nil {
			b.Fatal(err)
		}
		w, err := game.RestoreWorld(mode.Spec(), 30, &cp.World)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := mode.ResumeRules(w, cp.Rules); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArenaTick is one tick of the same arena's rules: 8 inputs
// applied, Step, EndTick. A match's real tick (BenchmarkTick/arena8) also
// builds and sends every player's snapshot, so it costs more.
func BenchmarkArenaTick(b *testing.B) {
	c := newCPWorld(game.NewArena(game.ArenaConfig{}), 300)
	b.ReportAllocs()
	for b.Loop() {
		c.tick()
	}
}
