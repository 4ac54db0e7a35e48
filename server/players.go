package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"skirmish/match"
	"skirmish/netcode"
)

// players tracks who is on this node: each player's match.Player (which
// outlives connections, so that a reconnect finds its seat), their current
// connection, and the session record kept in the store.
type players struct {
	mu     sync.Mutex
	byID   map[string]*player
	tokens map[string]Session // sessions seen on this node, by token hash
}

// player is one player known on this node.
type player struct {
	mp   *match.Player // mp.Key is the token's hash: the store's key
	conn *conn         // current connection, nil while away
	sess Session
}

func newPlayers() *players {
	return &players{byID: make(map[string]*player), tokens: make(map[string]Session)}
}

// remember caches a session seen on this node, so that its player can
// reconnect even while the store is unreachable.
func (ps *players) remember(hash string, s Session) {
	ps.mu.Lock()
	ps.tokens[hash] = s
	ps.mu.Unlock()
}

func (ps *players) cached(hash string) (Session, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s, ok := ps.tokens[hash]
	return s, ok
}

// attach binds c to its player after hello. It returns the player, the
// connection it replaces (to be closed with 4003) and whether the player
// is new on this node.
func (ps *players) attach(c *conn) (p *player, replaced *conn, fresh bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p = ps.byID[c.sess.PlayerID]
	if p == nil {
		p = &player{mp: match.NewPlayer(c.sess.PlayerID, c.sess.Name, c.out), sess: c.sess}
		p.mp.Key = c.hash
		ps.byID[c.sess.PlayerID] = p
		fresh = true
	} else {
		p.mp.SetOut(c.out)
	}
	replaced, p.conn = p.conn, c
	return p, replaced, fresh
}

// detach unbinds c; it reports whether c was the player's current
// connection (false when a newer one replaced it).
func (ps *players) detach(c *conn) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.byID[c.sess.PlayerID]
	if p == nil || p.conn != c {
		return false
	}
	p.conn = nil
	return true
}

// forget drops a player who is neither connected nor seated.
func (ps *players) forget(id string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.byID[id]; p != nil && p.conn == nil && p.mp.Match() == nil {
		delete(ps.byID, id)
	}
}

// storeWriter performs session and leaderboard writes off the match and
// connection goroutines: hooks enqueue, workers write with deadlines (one
// worker keeps a player's writes in order). When the queue is full a write is dropped and counted; the
// match, which is the truth, never waits for the store.
type storeWriter struct {
	s    *Server
	q    chan storeOp
	wg   sync.WaitGroup
	once sync.Once
}

type storeOp struct {
	name string
	do   func(ctx context.Context) error
}

func newStoreWriter(s *Server, workers, queue int) *storeWriter {
	w := &storeWriter{s: s, q: make(chan storeOp, queue)}
	for range workers {
		w.wg.Go(func() {
			for op := range w.q {
				w.run(op)
			}
		})
	}
	return w
}

func (w *storeWriter) run(op storeOp) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := op.do(ctx); err != nil && !errors.Is(err, ErrNoSession) {
		w.s.storeError(op.name, err)
	}
}

// enqueue never blocks.
func (w *storeWriter) enqueue(name string, do func(ctx context.Context) error) {
	defer func() { _ = recover() }() // enqueue after close: dropped
	select {
	case w.q <- storeOp{name: name, do: do}:
	default:
		w.s.storeError(name, errors.New("store queue full"))
	}
}

// close finishes the queued writes.
func (w *storeWriter) close() {
	w.once.Do(func() { close(w.q) })
	w.wg.Wait()
}

// hooks implements match.Hooks: it records seats and results in the store
// through the storeWriter. It runs on match goroutines and never blocks.
type hooks struct{ s *Server }

// save records s for p; it takes no lock (hooks run on match goroutines):
// p.Key is the session's store key.
func (h hooks) save(p *match.Player, s Session, grace time.Duration) {
	hash := p.Key
	h.s.writer.enqueue("save", func(ctx context.Context) error {
		return h.s.store.Save(ctx, hash, s, grace)
	})
}

func (h hooks) Seated(p *match.Player, matchID string, seat int) {
	h.save(p, Session{MatchID: matchID, Seat: seat, NodeID: h.s.nodeID, Status: StatusOnline}, 0)
}

func (h hooks) Away(p *match.Player, matchID string, seat int, ackSeq uint32) {
	h.save(p, Session{MatchID: matchID, Seat: seat, NodeID: h.s.nodeID, LastSeq: ackSeq, Status: StatusAway}, h.s.opts.SeatGrace)
}

func (h hooks) Unseated(p *match.Player, matchID string, expired bool) {
	s := Session{Seat: -1, Status: StatusLobby}
	if expired {
		s.Status, s.MatchID = StatusExpired, matchID
	}
	h.save(p, s, 0)
	h.s.writer.enqueue("forget", func(context.Context) error {
		h.s.players.forget(p.ID)
		return nil
	})
}

func (h hooks) Ended(matchID string, mode string, outcome uint8, standings []netcode.Standing) {
	if outcome != netcode.OutcomeNormal || len(standings) == 0 {
		return
	}
	h.s.writer.enqueue("result", func(ctx context.Context) error {
		_, err := h.s.store.RecordResult(ctx, matchID, mode, standings)
		return err
	})
}
