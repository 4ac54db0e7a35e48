package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"skirmish/match"
	"skirmish/netcode"
)

// Store writer limits.
const (
	// maxPendingResults is the most match results waiting for the store;
	// a result beyond it is dropped, counted and logged with its match id.
	maxPendingResults = 1024
	// maxPendingSeats is the most players whose seat record waits for the
	// store (one record each: the latest replaces the one not written).
	maxPendingSeats = 200_000
	// storeOpTimeout bounds one store write.
	storeOpTimeout = 2 * time.Second
	// maxStoreBackoff is the longest wait between two failed writes.
	maxStoreBackoff = 2 * time.Second
)

// storeWriter performs seat and result writes off the match and connection
// goroutines: hooks hand them over without blocking, one worker writes them
// in order with deadlines. Nothing is dropped silently:
//
//   - a seat record waits until written (the latest record of a player
//     replaces one not yet written: only the last one matters);
//   - a result waits until written, retried after a failure (the store
//     applies each match's result once, so a retry never counts twice);
//   - only beyond maxPendingResults / maxPendingSeats, or when a shutdown
//     runs out of time, are writes given up: each is counted
//     (skirmish_store_writes_dropped_total) and logged (with its match id).
//
// While the store fails, the worker backs off (up to maxStoreBackoff).
type storeWriter struct {
	s *Server

	mu      sync.Mutex
	queue   []storeItem           // in order of arrival
	seats   map[string]*seatWrite // pending seat records, by session key
	results int                   // results in queue

	wake   chan struct{} // a write was queued
	stop   chan struct{} // closed by close: finish what is queued, then stop
	ctx    context.Context
	cancel context.CancelFunc // cuts the write in progress (a shutdown out of time)
	done   chan struct{}
	once   sync.Once
}

type storeItem struct {
	key    string       // seat: the session key
	result *resultWrite // or a result
}

type seatWrite struct {
	sess      Session
	holdUntil time.Time // away: the seat is held until then
}

type resultWrite struct {
	matchID, mode string
	standings     []netcode.Standing
}

func newStoreWriter(s *Server) *storeWriter {
	ctx, cancel := context.WithCancel(context.Background())
	w := &storeWriter{
		s:      s,
		seats:  make(map[string]*seatWrite),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go w.run()
	return w
}

// seat queues the seat record sess for the session under key. It never
// blocks.
func (w *storeWriter) seat(key string, sess Session, holdUntil time.Time) {
	w.mu.Lock()
	if cur := w.seats[key]; cur != nil {
		cur.sess, cur.holdUntil = sess, holdUntil
		w.mu.Unlock()
		return
	}
	if len(w.seats) >= maxPendingSeats {
		w.mu.Unlock()
		w.dropped("save", "session", key[:min(8, len(key))])
		return
	}
	w.seats[key] = &seatWrite{sess: sess, holdUntil: holdUntil}
	w.queue = append(w.queue, storeItem{key: key})
	w.mu.Unlock()
	w.poke()
}

// result queues a match's result for the leaderboard. It never blocks.
func (w *storeWriter) result(matchID, mode string, standings []netcode.Standing) {
	w.mu.Lock()
	if w.results >= maxPendingResults {
		w.mu.Unlock()
		w.dropped("result", "match", matchID)
		return
	}
	w.results++
	w.queue = append(w.queue, storeItem{result: &resultWrite{matchID: matchID, mode: mode, standings: standings}})
	w.mu.Unlock()
	w.poke()
}

func (w *storeWriter) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// dropped counts and logs a write given up.
func (w *storeWriter) dropped(op, what, id string) {
	w.s.metrics.storeDropped.WithLabelValues(op).Inc()
	w.s.storeLogs.log(w.s.log, slog.LevelError, "store write dropped", "op", op, what, id)
}

// pending returns the number of writes waiting.
func (w *storeWriter) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// pop takes the oldest write; ok is false when there is none.
func (w *storeWriter) pop() (it storeItem, sw seatWrite, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return it, sw, false
	}
	it = w.queue[0]
	w.queue[0] = storeItem{}
	w.queue = w.queue[1:]
	if it.result != nil {
		w.results--
	} else {
		sw = *w.seats[it.key]
		delete(w.seats, it.key)
	}
	return it, sw, true
}

// retry puts a write that failed back at the front, unless a newer record
// for the same seat came meanwhile.
func (w *storeWriter) retry(it storeItem, sw seatWrite) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if it.result != nil {
		w.results++
	} else {
		if w.seats[it.key] != nil {
			return // superseded
		}
		w.seats[it.key] = &sw
	}
	w.queue = append([]storeItem{it}, w.queue...)
}

func (w *storeWriter) run() {
	defer close(w.done)
	backoff := time.Duration(0)
	for {
		it, sw, ok := w.pop()
		if !ok {
			select {
			case <-w.wake:
				continue
			case <-w.stop:
				return
			}
		}
		err := w.write(it, sw)
		if err == nil || errors.Is(err, ErrNoSession) {
			backoff = 0
			continue
		}
		w.retry(it, sw)
		if w.ctx.Err() != nil {
			return // a shutdown out of time: close reports what is left
		}
		op := "save"
		if it.result != nil {
			op = "result"
		}
		w.s.storeError(op, err)
		backoff = min(max(2*backoff, 50*time.Millisecond), maxStoreBackoff)
		select {
		case <-time.After(backoff):
		case <-w.ctx.Done():
			return
		}
	}
}

// write performs one write with a deadline.
func (w *storeWriter) write(it storeItem, sw seatWrite) error {
	ctx, cancel := context.WithTimeout(w.ctx, storeOpTimeout)
	defer cancel()
	if r := it.result; r != nil {
		applied, err := w.s.store.RecordResult(ctx, r.matchID, r.mode, r.standings)
		if err == nil {
			outcome := "ranked"
			if !applied {
				outcome = "duplicate"
			}
			w.s.metrics.results.WithLabelValues(outcome).Inc()
		}
		return err
	}
	var grace time.Duration
	if sw.sess.Status == StatusAway {
		grace = max(time.Until(sw.holdUntil), time.Millisecond)
	}
	return w.s.store.Save(ctx, it.key, sw.sess, grace)
}

// close finishes the queued writes, or gives up on what is left when ctx
// ends (each given-up write is counted and logged).
func (w *storeWriter) close(ctx context.Context) {
	w.once.Do(func() { close(w.stop) })
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	w.mu.Lock()
	left := w.queue
	w.queue, w.seats, w.results = nil, map[string]*seatWrite{}, 0
	w.mu.Unlock()
	for _, it := range left {
		if it.result != nil {
			w.dropped("result", "match", it.result.matchID)
		} else {
			w.dropped("save", "session", it.key[:min(8, len(it.key))])
		}
	}
}

// hooks implements match.Hooks: it records seats and results in the store
// through the storeWriter. It runs on match goroutines and never blocks.
type hooks struct{ s *Server }

func (h hooks) Seated(p *match.Player, matchID string, seat int) {
	h.s.writer.seat(p.Key, Session{MatchID: matchID, Seat: seat, NodeID: h.s.nodeID, Status: StatusOnline}, time.Time{})
}

func (h hooks) Away(p *match.Player, matchID string, seat int, ackSeq uint32, holdUntil time.Time) {
	h.s.writer.seat(p.Key, Session{MatchID: matchID, Seat: seat, NodeID: h.s.nodeID, LastSeq: ackSeq, Status: StatusAway}, holdUntil)
}

// Unseated records that p is in the lobby. A player who did not see how
// their seat ended (the grace ran out, or the match ended while they were
// away) keeps the match id, so that a later connection is told.
func (h hooks) Unseated(p *match.Player, matchID string, why match.Unseat) {
	s := Session{Seat: -1, Status: StatusLobby}
	switch why {
	case match.UnseatExpired:
		s.Status, s.MatchID = StatusExpired, matchID
	case match.UnseatEndedAway:
		s.MatchID = matchID
	}
	h.s.writer.seat(p.Key, s, time.Time{})
}

// Ended records a normal match's result on its mode's leaderboard, if
// enough distinct players finished it (Options.RankedMinPlayers): a match
// played alone after the fill timeout counts for nobody.
func (h hooks) Ended(matchID, mode string, outcome uint8, standings []netcode.Standing) {
	if h.s.fleet != nil {
		h.s.fleet.matchEnded(matchID, mode)
	}
	if outcome != netcode.OutcomeNormal || len(standings) == 0 {
		return
	}
	if distinctPlayers(standings) < h.s.opts.RankedMinPlayers {
		h.s.metrics.results.WithLabelValues("unranked").Inc()
		return
	}
	h.s.writer.result(matchID, mode, standings)
}

func distinctPlayers(st []netcode.Standing) int {
	seen := make(map[string]bool, len(st))
	for _, s := range st {
		seen[s.PlayerID] = true
	}
	return len(seen)
}
