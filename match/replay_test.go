package match

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"skirmish/game"
	"skirmish/netcode"
)

// memLogs is a LogStore in memory.
type memLogs struct {
	mu   sync.Mutex
	logs map[string][]byte
	done chan string
}

func newMemLogs() *memLogs { return &memLogs{logs: map[string][]byte{}, done: make(chan string, 16)} }

type memLog struct {
	s   *memLogs
	id  string
	buf bytes.Buffer
}

func (s *memLogs) Create(id string) (LogFile, error) { return &memLog{s: s, id: id}, nil }
func (f *memLog) Write(p []byte) error               { f.buf.Write(p); return nil }
func (f *memLog) Abort()                             { f.s.done <- "" }
func (f *memLog) Close(bool) error {
	f.s.mu.Lock()
	f.s.logs[f.id] = bytes.Clone(f.buf.Bytes())
	f.s.mu.Unlock()
	f.s.done <- f.id
	return nil
}

// doneLog returns a channel of the next closed log.
func (s *memLogs) doneLog() <-chan []byte {
	c := make(chan []byte, 1)
	id := <-s.done
	s.mu.Lock()
	c <- s.logs[id]
	s.mu.Unlock()
	return c
}

func (s *memLogs) get(t *testing.T) []byte {
	t.Helper()
	id := <-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs[id] == nil {
		t.Fatal("no log")
	}
	return s.logs[id]
}

// scriptStep is what happens to one seat at one tick of a scripted match.
type script struct {
	rng   *rand.Rand
	seats int
	taken []bool
	seq   []uint32
	next  int // players joined so far
}

func newScript(seed uint64, seats int) *script {
	return &script{rng: rand.New(rand.NewPCG(seed, 1)), seats: seats, taken: make([]bool, seats), seq: make([]uint32, seats)}
}

// input returns a random input for seat: moves of any direction (some
// invalid), every button, aims, view times.
func (sc *script) input(seat int, tick uint64) netcode.Input {
	r := sc.rng
	sc.seq[seat] += 1 + uint32(r.IntN(2))
	a := r.Float64() * 2 * math.Pi
	l := float32(r.Float64() * 1.01)
	in := netcode.Input{Seq: sc.seq[seat], MoveX: l * float32(math.Cos(a)), MoveY: l * float32(math.Sin(a)),
		Buttons: uint8(r.IntN(256)) & uint8(r.IntN(256)), AimX: float32(r.NormFloat64()), AimY: float32(r.NormFloat64())}
	if r.IntN(3) == 0 && tick > 3 {
		in.ViewTick, in.ViewFrac = uint32(tick)-uint32(r.IntN(4)), r.Float32()
	}
	return in
}

// runScript plays a scripted match of mode with world seed seed for ticks
// ticks and returns the state hash after every tick.
func runScript(t *testing.T, mode game.Mode, seed uint64, ticks int) []uint64 {
	t.Helper()
	sim, err := NewSim(mode, 30, seed, 5<<20, 6) // 200 ms of rewind at 30 Hz
	if err != nil {
		t.Fatal(err)
	}
	seats := mode.Spec().MaxPlayers
	sc := newScript(99, seats) // the same script whatever the seed
	var hashes []uint64
	for tick := range ticks {
		for s := range seats {
			switch {
			case !sc.taken[s] && sc.rng.IntN(40) == 0:
				sc.next++
				if err := sim.Join(s, fmt.Sprint("p", sc.next), fmt.Sprint("Player ", sc.next)); err != nil {
					t.Fatal(err)
				}
				sc.taken[s], sc.seq[s] = true, 0
			case sc.taken[s] && sc.rng.IntN(300) == 0:
				if err := sim.Leave(s); err != nil {
					t.Fatal(err)
				}
				sc.taken[s] = false
			case sc.taken[s] && sc.rng.IntN(100) == 0:
				if err := sim.Away(s, !sim.World.Players[s].Away); err != nil {
					t.Fatal(err)
				}
			case sc.taken[s] && sc.rng.IntN(10) != 0:
				in := sc.input(s, uint64(tick))
				if _, err := sim.Apply(s, &in); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := sim.Step(); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, sim.Hash())
	}
	return hashes
}

// TestDeterministicEveryMode: for every registered mode, the same scripted
// match (joins, leaves, away and back, random inputs) run twice has the
// same state hash after every tick, and another world seed changes it.
func TestDeterministicEveryMode(t *testing.T) {
	modes := game.Modes()
	if len(modes) < 3 {
		t.Fatalf("%d modes registered", len(modes))
	}
	for _, d := range modes {
		t.Run(d.Name, func(t *testing.T) {
			mode, err := game.NewMode(d.Name)
			if err != nil {
				t.Fatal(err)
			}
			const ticks = 900
			a := runScript(t, mode, 1, ticks)
			b := runScript(t, mode, 1, ticks)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("tick %d: hash %016x, then %016x", i, a[i], b[i])
				}
			}
			c := runScript(t, mode, 2, ticks)
			if a[ticks-1] == c[ticks-1] {
				t.Fatalf("another seed ends with the same hash %016x", a[ticks-1])
			}
		})
	}
}

// recordedMatch is a match of mode driven tick by tick, recorded to logs.
func recordedMatch(t *testing.T, mode game.Mode, logs LogStore, chunk, queue int, settings ...string) *Match {
	ev := make(chan lobbyEvent, 256)
	cfg := *(&Config{TickRate: 30, Logger: quiet, Record: &Recording{Store: logs, ChunkBytes: chunk, Queue: queue,
		Settings: map[string][]string{mode.Spec().Name: settings}}}).EnsureDefaults()
	m := newMatch("m-rec", 3, mode, cfg, 12345, ev)
	m.rules = mode.NewRules(m.world)
	m.startRecording()
	return m
}

// TestRecordedMatchReplays runs a real match of every registered mode
// (its tick, joins, leaves, an away player whose grace runs out, resends
// and rejected inputs) with a tiny chunk size, then replays its log: the same hash every tick, the
// same tick count, hash and standings at the end.
func TestRecordedMatchReplays(t *testing.T) {
	for _, d := range game.Modes() {
		t.Run(d.Name, func(t *testing.T) {
			mode, err := game.NewMode(d.Name)
			if err != nil {
				t.Fatal(err)
			}
			if mode.Spec().MaxPlayers < 3 {
				t.Fatalf("mode %s has %d seats: the test needs 3", d.Name, mode.Spec().MaxPlayers)
			}
			logs := newMemLogs()
			m := recordedMatch(t, mode, logs, 256, 1<<12)
			m.graceAt = 20
			ps := []*Player{newTestPlayer("a"), newTestPlayer("b"), newTestPlayer("c")}
			for _, p := range ps[:2] {
				m.join(p)
			}
			sc := newScript(7, mode.Spec().MaxPlayers)
			var hashes []uint64
			for tick := range 300 {
				switch tick {
				case 10:
					m.join(ps[2])
				case 50:
					m.away(ps[0])
				case 60:
					m.resume(ps[0])
				case 100:
					m.away(ps[1]) // its grace runs out in a tick
				case 200:
					m.leave(ps[2])
				}
				for _, p := range ps {
					if s := m.seatOf(p); s != nil {
						in := sc.input(s.gp.Seat, uint64(tick))
						p.SendInput(&in, p.Out())
						if tick%17 == 0 { // a resent input: not applied twice
							p.SendInput(&in, p.Out())
						}
					}
					for len(p.Out().Frames()) > 0 {
						p.Out().Release(<-p.Out().Frames())
					}
				}
				m.tick()
				hashes = append(hashes, StateHash(m.world, m.rules))
			}
			m.end(netcode.OutcomeNormal)
			data := logs.get(t)
			var got []uint64
			res, err := Replay(data, ReplayOptions{EachTick: func(s *Sim) { got = append(got, s.Hash()) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(hashes) {
				t.Fatalf("%d ticks replayed of %d", len(got), len(hashes))
			}
			for i := range got {
				if got[i] != hashes[i] {
					t.Fatalf("tick %d: replayed hash %016x, the match's %016x", i, got[i], hashes[i])
				}
			}
			if res.Ticks != 300 || res.Hash != hashes[299] || len(res.Standings) != 1 {
				t.Fatalf("replayed %d ticks, hash %016x, standings %+v", res.Ticks, res.Hash, res.Standings)
			}
			if res.Header.MatchID != "m-rec" || res.Header.Seed != 12345 || res.Header.IDBase != 3<<20 {
				t.Errorf("header %+v", res.Header)
			}
		})
	}
}

// reencode decodes log data and encodes it again, passing each record
// to edit first (nil: none).
func reencode(t *testing.T, data []byte, edit func(rec *LogRecord)) []byte {
	t.Helper()
	r, h, err := NewLogReader(data)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.SetSeats(64)
	prev := make([]netcode.Input, 64)
	out := appendLogHeader(nil, h)
	var rec LogRecord
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		if edit != nil {
			edit(&rec)
		}
		switch rec.Kind {
		case RecStep:
			out = append(out, RecStep)
		case RecJoin:
			out = append(out, RecJoin)
			out = appendUvarintSeat(out, rec.Seat)
			out = appendLogString(appendLogString(out, rec.PlayerID), rec.Name)
			prev[rec.Seat] = netcode.Input{}
		case RecLeave, RecAway, RecBack:
			out = appendUvarintSeat(append(out, rec.Kind), rec.Seat)
		case RecInput:
			out = appendInput(out, rec.Seat, &rec.Input, &prev[rec.Seat])
		case RecEnd:
			out = appendLogEnd(out, rec.End.Ticks, rec.End.Hash, rec.End.Outcome, rec.End.Standings)
		}
	}
}

// TestTamperedLogDesyncs: one input of a recorded match changed, the
// replay reports a desync; a log cut before its end is incomplete.
func TestTamperedLogDesyncs(t *testing.T) {
	mode, _ := game.NewMode("arena", "players=4")
	logs := newMemLogs()
	m := recordedMatch(t, mode, logs, 256, 1<<12, "players=4")
	p := newTestPlayer("a")
	m.join(p)
	for tick := range 60 {
		p.SendInput(&netcode.Input{Seq: uint32(tick + 1), MoveX: float32(tick%7) / 7, MoveY: 0.5}, p.Out())
		m.tick()
	}
	m.end(netcode.OutcomeNormal)
	data := logs.get(t)
	if _, err := Replay(data, ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	if again := reencode(t, data, nil); !bytes.Equal(again, data) {
		t.Fatal("a log decoded and encoded again differs")
	}
	inputs := 0
	bad := reencode(t, data, func(rec *LogRecord) {
		if rec.Kind == RecInput {
			if inputs++; inputs == 30 {
				rec.Input.MoveX = -rec.Input.MoveX
			}
		}
	})
	if _, err := Replay(bad, ReplayOptions{}); !errors.Is(err, ErrDesync) {
		t.Fatalf("tampered log: %v, want a desync", err)
	}
	if _, err := Replay(data[:len(data)-20], ReplayOptions{}); err == nil || errors.Is(err, ErrDesync) {
		t.Fatalf("cut log: %v", err)
	}
	if _, err := Replay(data[:len(data)-1], ReplayOptions{}); err == nil {
		t.Fatal("a log cut in its end record replays")
	}
}

// TestRecordingAllocatesNothing: a recorded tick allocates nothing in
// steady state.
func TestRecordingAllocatesNothing(t *testing.T) {
	players := make([]*Player, 8)
	for i := range players {
		players[i] = newTestPlayer(fmt.Sprint("p", i))
	}
	mode := game.NewArena(game.ArenaConfig{})
	logs := newMemLogs()
	m := recordedMatch(t, mode, logs, 4096, 1<<12)
	for _, p := range players {
		m.join(p)
	}
	seq := uint32(0)
	step := func() {
		seq++
		for i, p := range players {
			in := netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8, AimX: float32(seq % 5), Buttons: uint8(seq+uint32(i)) & 1}
			p.SendInput(&in, p.Out())
			for len(p.Out().Frames()) > 0 {
				p.Out().Release(<-p.Out().Frames())
			}
		}
		m.tick()
	}
	for range 300 {
		step()
	}
	if a := testing.AllocsPerRun(300, step); a != 0 {
		t.Errorf("a recorded tick allocates %v times", a)
	}
	m.end(netcode.OutcomeNormal)
	if _, err := Replay(logs.get(t), ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
}

// slowLogs is a LogStore whose writes wait for release.
type slowLogs struct {
	memLogs
	release chan struct{}
}

type slowLog struct {
	memLog
	release chan struct{}
}

func (s *slowLogs) Create(id string) (LogFile, error) {
	return &slowLog{memLog: memLog{s: &s.memLogs, id: id}, release: s.release}, nil
}
func (f *slowLog) Write(p []byte) error { <-f.release; return f.memLog.Write(p) }

// TestSlowStoreGivesUpTheLog: a store that falls behind never stalls the
// tick; the log keeps its valid beginning and is incomplete.
func TestSlowStoreGivesUpTheLog(t *testing.T) {
	mode, _ := game.NewMode("arena", "players=4")
	logs := &slowLogs{memLogs: *newMemLogs(), release: make(chan struct{})}
	m := recordedMatch(t, mode, logs, 64, 2, "players=4")
	p := newTestPlayer("a")
	m.join(p)
	before := RecordsGivenUp()
	for tick := range 200 {
		p.SendInput(&netcode.Input{Seq: uint32(tick + 1), MoveX: float32(tick%3) / 3}, p.Out())
		m.tick()
	}
	if RecordsGivenUp() != before+1 {
		t.Fatalf("given up %d logs, want 1", RecordsGivenUp()-before)
	}
	m.end(netcode.OutcomeNormal)
	close(logs.release)
	data := logs.get(t)
	if _, err := Replay(data, ReplayOptions{}); !errors.Is(err, ErrLogIncomplete) {
		t.Fatalf("replay of the given-up log: %v, want incomplete", err)
	}
}

// TestAdoptedMatchLogReplays: a match restored from another node's
// checkpoint records a log that starts from the checkpoint (without the
// players' session keys) and replays to the end it recorded.
func TestAdoptedMatchLogReplays(t *testing.T) {
	for _, name := range []string{"arena", "tag", "ctf"} {
		t.Run(name, func(t *testing.T) {
			setting := "players=4"
			if name == "ctf" {
				setting = "team-size=2"
			}
			mode, _ := game.NewMode(name, setting)
			first := newMemLogs()
			m := recordedMatch(t, mode, first, 1024, 1<<12, setting)
			ps := []*Player{newTestPlayer("a"), newTestPlayer("b")}
			ps[0].Key = "secret-key"
			sc := newScript(5, 4)
			play := func(m *Match, ps []*Player, ticks int, from func(*Player) *Outbox) {
				for tick := range ticks {
					for _, p := range ps {
						if s := m.seatOf(p); s != nil {
							in := sc.input(s.gp.Seat, m.world.Tick)
							p.SendInput(&in, from(p))
						}
						if out := p.Out(); out != nil {
							for len(out.Frames()) > 0 {
								out.Release(<-out.Frames())
							}
						}
					}
					m.tick()
					_ = tick
				}
			}
			for _, p := range ps {
				m.join(p)
			}
			play(m, ps, 50, (*Player).Out)
			data, ok := m.encode()
			if !ok {
				t.Fatal("no checkpoint")
			}
			m.moveAway("http://elsewhere")
			if id := <-first.done; id != "" {
				t.Fatal("a moved match's log was kept")
			}
			var cp Checkpoint
			if err := DecodeCheckpoint(data, &cp); err != nil {
				t.Fatal(err)
			}
			second := newMemLogs()
			cfg := m.cfg
			cfg.Record = &Recording{Store: second, Settings: map[string][]string{name: {setting}}}
			m2, players, err := restoreMatch(&cp, mode, cfg, make(chan lobbyEvent, 64))
			if err != nil {
				t.Fatal(err)
			}
			m2.startRecording()
			players[1].out.Store(NewOutbox())
			m2.resume(players[1]) // back on a new connection; players[0] stays away
			play(m2, players, 60, (*Player).Out)
			m2.end(netcode.OutcomeNormal)
			log := second.get(t)
			if bytes.Contains(log, []byte("secret-key")) {
				t.Error("the log holds a session key")
			}
			res, err := Replay(log, ReplayOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Header.Checkpoint) == 0 || res.Ticks != 110 || len(res.Standings) != 2 {
				t.Fatalf("replayed %d ticks from a checkpoint of %d bytes, standings %+v", res.Ticks, len(res.Header.Checkpoint), res.Standings)
			}
		})
	}
}

// FuzzReplayLog: a log reader and Replay given any bytes return an error
// or a result and never panic; the reader allocates in proportion to its
// input (Replay also builds the mode the header names, within the limits
// of its options).
func FuzzReplayLog(f *testing.F) {
	for _, name := range []string{"arena", "tag", "ctf"} {
		setting := "players=3"
		if name == "ctf" {
			setting = "team-size=1"
		}
		mode, _ := game.NewMode(name, setting)
		logs := newMemLogs()
		m := recordedMatch(nil, mode, logs, 1024, 1<<12, setting)
		p := newTestPlayer("p")
		m.join(p)
		for tick := range 20 {
			p.SendInput(&netcode.Input{Seq: uint32(tick + 1), MoveX: 0.5, Buttons: uint8(tick & 1), AimX: 1, ViewTick: uint32(tick)}, p.Out())
			m.tick()
		}
		data, _ := m.encode()
		m.end(netcode.OutcomeNormal)
		f.Add(<-logs.doneLog())
		// The same start from a checkpoint.
		f.Add(appendLogHeader(nil, &LogHeader{MatchID: "m", Mode: name, Settings: []string{setting}, TickRate: 30, Checkpoint: data}))
	}
	f.Add([]byte("SKRL\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if r, _, err := NewLogReader(data); err == nil {
			if err := r.SetSeats(8); err != nil {
				t.Fatal(err)
			}
			var rec LogRecord
			for {
				ok, err := r.Next(&rec)
				if !ok || err != nil {
					break
				}
			}
		}
		runtime.ReadMemStats(&after)
		// What reading allocates is in proportion to the input.
		if n, most := after.TotalAlloc-before.TotalAlloc, uint64(16*len(data)+64<<10); n > most {
			t.Fatalf("reading %d bytes allocated %d", len(data), n)
		}
		_, _ = Replay(data, ReplayOptions{MaxTicks: 200})
	})
}

// TestLogInputBytes: the example of docs/PROTOCOL.md, "Replay logs".
func TestLogInputBytes(t *testing.T) {
	var prev netcode.Input
	var b []byte
	b = appendInput(b, 2, &netcode.Input{Seq: 1, MoveX: 1, Buttons: 1}, &prev)
	b = appendInput(b, 2, &netcode.Input{Seq: 2, MoveX: 1, Buttons: 1}, &prev)
	b = appendInput(b, 2, &netcode.Input{Seq: 5, MoveX: 1, Buttons: 1}, &prev)
	if want := []byte{6, 2, 5, 0, 0, 0x80, 0x3f, 1, 6, 2, 0, 6, 2, 0x80, 4}; !bytes.Equal(b, want) {
		t.Fatalf("% x, want % x", b, want)
	}
}

// BenchmarkRecordedTick is BenchmarkTick's arena8 with its input log
// recorded (to memory, on the writer goroutine: its buffer's growth is in
// B/op, not the match's).
func BenchmarkRecordedTick(b *testing.B) {
	players := make([]*Player, 8)
	for i := range players {
		players[i] = newTestPlayer(fmt.Sprint("p", i))
		players[i].Out().SetSocket(&sinkSocket{})
	}
	mode := game.NewArena(game.ArenaConfig{})
	logs := newMemLogs()
	m := recordedMatch(nil, mode, logs, 16<<10, 16)
	for _, p := range players {
		m.join(p)
	}
	seq := uint32(0)
	tick := func() {
		seq++
		for i, p := range players {
			in := netcode.Input{Seq: seq, MoveX: 0.6, MoveY: 0.8, AimX: float32(seq%7) + 1}
			if (int(seq)+i)%30 == 0 {
				in.Buttons = 1 << game.ArenaFire
			}
			p.SendInput(&in, p.Out())
			for len(p.Out().Frames()) > 0 { // matched
				p.Out().Release(<-p.Out().Frames())
			}
		}
		m.tick()
	}
	for range 100 {
		tick()
	}
	b.ReportAllocs()
	for b.Loop() {
		tick()
	}
	m.end(netcode.OutcomeNormal)
	<-logs.done
}
