package match

import (
	"context"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"

	"skirmish/netcode"
)

// Recording records every match's input log (replaylog.go), for Replay.
type Recording struct {
	// Store keeps the logs.
	Store LogStore
	// Settings are each mode's options as game.NewMode takes them
	// ("players=8"), by mode name: the log's header carries them, so
	// that a replay builds the same mode.
	Settings map[string][]string
	// Queue is how many full chunks of a match's log may wait for its
	// store; default 16. When the store falls further behind, the match
	// gives up the rest of that log (it never waits): what was handed on
	// stays a valid log without an end record (ErrLogIncomplete).
	Queue int
	// ChunkBytes is the size at which a chunk of the log is handed to
	// its writer; default 16 KiB.
	ChunkBytes int

	writers sync.WaitGroup // the logs' writer goroutines
}

// Wait waits until every log whose match has ended is closed (or ctx
// ends): call it after the matches have ended, before closing the store.
func (rc *Recording) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { rc.writers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LogStore keeps input logs. Its methods, and its LogFiles', are called
// on each log's writer goroutine, never on a match's: they may block.
type LogStore interface {
	// Create begins the log of match matchID.
	Create(matchID string) (LogFile, error)
}

// LogFile is one log being written.
type LogFile interface {
	// Write appends p; the callee must not keep p. Each p is whole
	// records ending with a tick's end (or with the end record), the
	// first one starting with the header: the writes before any one of
	// them make a valid log, without its end (ErrLogIncomplete).
	Write(p []byte) error
	// Close ends the log and makes it available; complete reports that
	// it has its end record.
	Close(complete bool) error
	// Abort drops the log: its store failed, or its match moved to
	// another node (whose log, from the checkpoint, replaces it).
	Abort()
}

var recordsGivenUp atomic.Uint64

// RecordsGivenUp counts the logs whose rest a match gave up because their
// store fell behind (Recording.Queue).
func RecordsGivenUp() uint64 { return recordsGivenUp.Load() }

// recorder is a match's side of its log: it appends records to buf and
// hands full chunks to the log's writer goroutine without blocking. A nil
// recorder records nothing.
type recorder struct {
	buf    []byte
	prev   []netcode.Input // each seat's last recorded input
	chunk  int
	broken bool // a chunk was dropped: the rest is given up
	full   chan []byte
	free   chan []byte
	fin    chan logFin
	log    *slog.Logger
}

type logFin struct {
	last     []byte
	complete bool
	abort    bool
}

// startRecording writes the log's header and starts its writer; it does
// nothing without Config.Record. A restored match's log starts from its
// checkpoint, without the players' session keys.
func (m *Match) startRecording() {
	rc := m.cfg.Record
	if rc == nil || rc.Store == nil {
		return
	}
	h := LogHeader{MatchID: m.ID, Mode: m.spec.Name, Settings: rc.Settings[m.spec.Name], Seed: m.seed,
		TickRate: m.cfg.TickRate, IDBase: m.idBase, StartUnixMs: m.cfg.Clock.Now().UnixMilli(),
		RewindTicks: uint32(m.world.Rewind)}
	if m.restored {
		data, ok := m.encode()
		var cp Checkpoint
		if !ok || DecodeCheckpoint(data, &cp) != nil {
			m.log.Warn("match not recorded: its rules cannot be checkpointed")
			return
		}
		for i := range cp.Seats {
			cp.Seats[i].Key = ""
		}
		h.Checkpoint = AppendCheckpoint(nil, &cp)
	}
	chunk := rc.ChunkBytes
	if chunk <= 0 {
		chunk = 16 << 10
	}
	queue := rc.Queue
	if queue <= 0 {
		queue = 16
	}
	r := &recorder{
		buf:   make([]byte, 0, 2*chunk),
		prev:  make([]netcode.Input, len(m.seats)),
		chunk: chunk,
		full:  make(chan []byte, queue),
		free:  make(chan []byte, queue+2),
		fin:   make(chan logFin, 1),
		log:   m.log,
	}
	r.buf = appendLogHeader(r.buf, &h)
	m.rec = r
	rc.writers.Add(1)
	go func() {
		defer rc.writers.Done()
		writeLog(rc.Store, m.ID, r.full, r.free, r.fin, m.log)
	}()
}

func (r *recorder) join(seat int, id, name string) {
	if r == nil || r.broken {
		return
	}
	r.buf = append(r.buf, RecJoin)
	r.buf = appendUvarintSeat(r.buf, seat)
	r.buf = appendLogString(r.buf, id)
	r.buf = appendLogString(r.buf, name)
	r.prev[seat] = netcode.Input{}
}

// seat records a seat event without data: RecLeave, RecAway or RecBack.
func (r *recorder) seat(kind uint8, seat int) {
	if r == nil || r.broken {
		return
	}
	r.buf = appendUvarintSeat(append(r.buf, kind), seat)
}

func (r *recorder) input(seat int, in *netcode.Input) {
	if r == nil || r.broken {
		return
	}
	r.buf = appendInput(r.buf, seat, in, &r.prev[seat])
}

// step ends the tick's records; a full chunk goes to the writer.
func (r *recorder) step() {
	if r == nil || r.broken {
		return
	}
	r.buf = append(r.buf, RecStep)
	if len(r.buf) >= r.chunk {
		r.flush()
	}
}

// flush hands buf to the writer and takes an empty buffer, both without
// blocking; if the writer is behind, the rest of the log is given up.
func (r *recorder) flush() {
	select {
	case r.full <- r.buf:
	default:
		r.broken = true
		r.buf = nil
		recordsGivenUp.Add(1)
		r.log.Warn("replay log given up: its store is too slow", "queued", cap(r.full))
		return
	}
	select {
	case b := <-r.free:
		r.buf = b[:0]
	default:
		r.buf = make([]byte, 0, 2*r.chunk)
	}
}

// end appends the end record and closes the log.
func (r *recorder) end(ticks, hash uint64, outcome uint8, standings []netcode.Standing) {
	if r == nil {
		return
	}
	if r.broken {
		r.fin <- logFin{}
		return
	}
	r.buf = appendLogEnd(r.buf, ticks, hash, outcome, standings)
	r.fin <- logFin{last: r.buf, complete: true}
	r.buf = nil
}

// abort drops the log.
func (r *recorder) abort() {
	if r != nil {
		r.fin <- logFin{abort: true}
	}
}

func appendUvarintSeat(b []byte, seat int) []byte { return binary.AppendUvarint(b, uint64(seat)) }

// writeLog is a log's writer goroutine: it writes the chunks the match
// hands it, in order, returns their buffers, and closes the log when the
// match ends it.
func writeLog(store LogStore, id string, full <-chan []byte, free chan<- []byte, fin <-chan logFin, log *slog.Logger) {
	f, err := store.Create(id)
	if err != nil {
		log.Error("replay log not recorded", "err", err)
	}
	write := func(b []byte) {
		if f != nil && err == nil {
			if err = f.Write(b); err != nil {
				log.Error("replay log not recorded", "err", err)
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	for {
		select {
		case b := <-full:
			write(b)
		case e := <-fin:
			// Every chunk handed on before the end is queued already.
			for drained := false; !drained; {
				select {
				case b := <-full:
					write(b)
				default:
					drained = true
				}
			}
			if e.last != nil {
				write(e.last)
			}
			switch {
			case f == nil:
			case err != nil || e.abort:
				f.Abort()
			default:
				if err := f.Close(e.complete); err != nil {
					log.Error("replay log not recorded", "err", err)
				}
			}
			return
		}
	}
}

// endRecording closes the log with the match's tick count, state hash,
// outcome and standings.
func (m *Match) endRecording(outcome uint8, standings []netcode.Standing, hash uint64) {
	if m.rec == nil {
		return
	}
	m.rec.end(m.world.Tick, hash, outcome, standings)
	m.rec = nil
}

// logHash is the state hash of the log's end record (0 when the match is
// not recorded); an error is a panic of the rules while hashing.
func (m *Match) logHash() (hash uint64, err error) {
	if m.rec == nil || m.rules == nil {
		return 0, nil
	}
	err = m.safely(func() { hash = StateHash(m.world, m.rules) })
	return hash, err
}
