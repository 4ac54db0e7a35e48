package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"skirmish/netcode"
)

// ErrNoSession is returned for an unknown or expired token.
var ErrNoSession = errors.New("session not found")

// ErrStoreFull is returned by Create when the store holds as many live
// sessions as it may (MemoryStore's cap); the caller should answer
// "try later" rather than count it as a store failure.
var ErrStoreFull = errors.New("session store full")

// errNoMatchID is returned by RecordResult without a match id: it is what
// makes a result count once.
var errNoMatchID = errors.New("record result: no match id")

// resultMemory is how long a store remembers that it counted a match's
// result: a retry later than that would count it again.
const resultMemory = 7 * 24 * time.Hour

// Session statuses.
const (
	StatusLobby  = "lobby"  // connected or not, not seated
	StatusOnline = "online" // seated, connected
	StatusAway   = "away"   // seated, disconnected: the seat is held for the grace
	// StatusExpired: the grace ran out while away; the player has not been
	// told yet (MatchID is the match they lost).
	StatusExpired = "expired"
)

// Session is what the server records of a player between connections.
type Session struct {
	PlayerID string
	Name     string
	// MatchID, Seat and NodeID say where the player is seated ("" and -1:
	// nowhere), on which server node.
	MatchID string
	Seat    int
	NodeID  string
	// LastSeq is the last input seq applied when the player went away.
	LastSeq uint32
	Status  string
	// ExpiresAt is when the session ends unless used again (sliding).
	ExpiresAt time.Time
	// SeatHeld reports, when Status is away, whether the seat's grace has
	// not run out yet.
	SeatHeld bool
}

// LeaderboardEntry is one player's line on a mode's leaderboard.
type LeaderboardEntry struct {
	PlayerID string `json:"playerId"`
	Name     string `json:"name"`
	Wins     int64  `json:"wins"`
	Losses   int64  `json:"losses"`
	Score    int64  `json:"score"`
}

// SessionStore records sessions by token and keeps the leaderboards. Tokens
// are never stored in clear: records are keyed by HashToken(token).
// Implementations are safe for concurrent use; every call honours ctx's
// deadline.
type SessionStore interface {
	// Create records a new session for s's player and name, in the lobby,
	// for ttl, and returns its token; ErrStoreFull if the store may hold
	// no more sessions.
	Create(ctx context.Context, s Session, ttl time.Duration) (token string, err error)
	// Lookup returns the session filed under hash and slides its expiry
	// to ttl from now.
	Lookup(ctx context.Context, hash string, ttl time.Duration) (Session, error)
	// Save overwrites the seat fields (MatchID, Seat, NodeID, LastSeq,
	// Status) of the session under hash, and its seat hold with them, in
	// one step. With Status away, the seat is held for grace (millisecond
	// precision; none for grace <= 0); otherwise the hold is dropped. An
	// expired session is not recreated: ErrNoSession.
	Save(ctx context.Context, hash string, s Session, grace time.Duration) error
	// RecordResult adds the standings of match matchID to mode's
	// leaderboard, once: place 1 wins, every other place loses, scores add
	// up. applied reports whether this call counted them; a repeat of a
	// match already counted (a retry after a timeout whose first attempt
	// did land) changes nothing and returns false, nil. The store remembers
	// a counted match for 7 days (MemoryStore forgets the oldest sooner
	// beyond 100,000 matches). After an error (a timeout, a dropped
	// connection) the result may or may not have been counted: retrying
	// with the same matchID is always safe.
	RecordResult(ctx context.Context, matchID, mode string, standings []netcode.Standing) (applied bool, err error)
	// Leaderboard returns mode's top n players by wins, then score, then
	// player id; none for n <= 0.
	Leaderboard(ctx context.Context, mode string, n int) ([]LeaderboardEntry, error)
	// Close releases the store's connections and stops its background
	// work.
	Close() error
}

// NewToken returns 128 random bits, URL-safe base64 without padding.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewPlayerID returns a random player id.
func NewPlayerID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "p-" + hex.EncodeToString(b[:])
}

// HashToken is the key a store files a token's session under.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// MemoryStore limits and periods.
const (
	// defaultMaxSessions is MemoryStore's session cap when none is given.
	defaultMaxSessions = 100_000
	// maxAppliedMatches caps how many counted match ids MemoryStore
	// remembers; beyond it the oldest are forgotten first.
	maxAppliedMatches = 100_000
	// leaderboardTop is how many places MemoryStore keeps ranked per mode:
	// the top that the HTTP endpoint serves.
	leaderboardTop = 100
	// memorySweepEvery is how often MemoryStore removes expired sessions.
	memorySweepEvery = time.Minute
)

// never is a time after any session's expiry.
var never = time.Unix(1<<62, 0)

// MemoryStore is the in-process SessionStore, the default.
//
// It holds at most its cap of live sessions (Create removes expired ones,
// then returns ErrStoreFull), and removes expired sessions every minute
// from a goroutine that Close stops. Sessions and leaderboards are under
// separate locks, never held together: a leaderboard request never waits
// for a session call, nor the reverse. Each mode keeps its top 100 ranked
// as results come in, so that Leaderboard(n <= 100) copies it instead of
// sorting the board; when a result makes a ranked player drop (a loss
// with a negative score), the next Leaderboard call selects the top 100
// again, in O(players·log 100), once. A board keeps every player it has
// seen.
type MemoryStore struct {
	// now is the clock; it must be safe for concurrent use. Tests inject
	// one through newMemoryStore.
	now         func() time.Time
	maxSessions int

	mu       sync.Mutex             // guards sessions and sweepAfter
	sessions map[string]*memSession // by token hash
	// sweepAfter is no later than any session's expiry: a sweep before it
	// would find nothing, so Create at the cap does not scan in vain.
	sweepAfter time.Time

	lbMu    sync.Mutex // guards boards and applied; never held with mu
	boards  map[string]*memBoard
	applied appliedMatches

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type memSession struct {
	Session
	seatUntil time.Time
}

// NewMemoryStore returns an empty MemoryStore that holds at most
// maxSessions live sessions (0: 100,000), and starts its sweeper; Close
// stops it.
func NewMemoryStore(maxSessions int) *MemoryStore {
	return newMemoryStore(maxSessions, time.Now, memorySweepEvery)
}

// newMemoryStore is NewMemoryStore with a clock and a sweep period.
func newMemoryStore(maxSessions int, now func() time.Time, sweepEvery time.Duration) *MemoryStore {
	if maxSessions <= 0 {
		maxSessions = defaultMaxSessions
	}
	m := &MemoryStore{
		now:         now,
		maxSessions: maxSessions,
		sessions:    make(map[string]*memSession),
		sweepAfter:  never,
		boards:      make(map[string]*memBoard),
		applied:     appliedMatches{at: make(map[matchKey]time.Time), max: maxAppliedMatches},
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	go m.sweepLoop(sweepEvery)
	return m
}

func (m *MemoryStore) sweepLoop(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.Sweep(m.now())
		}
	}
}

// Create implements SessionStore. At the cap it first removes expired
// sessions; if none expired it returns ErrStoreFull.
func (m *MemoryStore) Create(ctx context.Context, s Session, ttl time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	tok := NewToken()
	hash := HashToken(tok)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.sessions) >= m.maxSessions {
		m.sweepLocked(now)
		if len(m.sessions) >= m.maxSessions {
			return "", ErrStoreFull
		}
	}
	s.ExpiresAt = now.Add(ttl)
	// A new session is in the lobby, like RedisStore's.
	s.MatchID, s.Seat, s.NodeID, s.LastSeq, s.Status, s.SeatHeld = "", -1, "", 0, StatusLobby, false
	m.sessions[hash] = &memSession{Session: s}
	m.sweepAfter = minTime(m.sweepAfter, s.ExpiresAt)
	return tok, nil
}

// Lookup implements SessionStore.
func (m *MemoryStore) Lookup(ctx context.Context, hash string, ttl time.Duration) (Session, error) {
	if err := ctx.Err(); err != nil {
		return Session{}, fmt.Errorf("lookup session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[hash]
	now := m.now()
	if !ok || !now.Before(s.ExpiresAt) {
		delete(m.sessions, hash)
		return Session{}, ErrNoSession
	}
	s.ExpiresAt = now.Add(ttl)
	m.sweepAfter = minTime(m.sweepAfter, s.ExpiresAt)
	out := s.Session
	out.SeatHeld = s.Status == StatusAway && now.Before(s.seatUntil)
	return out, nil
}

// Save implements SessionStore.
func (m *MemoryStore) Save(ctx context.Context, hash string, s Session, grace time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.sessions[hash]
	if !ok || !m.now().Before(cur.ExpiresAt) {
		return ErrNoSession
	}
	cur.MatchID, cur.Seat, cur.NodeID, cur.LastSeq, cur.Status = s.MatchID, s.Seat, s.NodeID, s.LastSeq, s.Status
	cur.seatUntil = time.Time{}
	if s.Status == StatusAway {
		cur.seatUntil = m.now().Add(grace)
	}
	return nil
}

// Sweep removes every session expired at now and forgets the matches
// counted 7 days or more before now; it returns how many sessions it
// removed. The store runs it every minute by itself.
func (m *MemoryStore) Sweep(now time.Time) int {
	m.mu.Lock()
	n := m.sweepLocked(now)
	m.mu.Unlock()
	m.lbMu.Lock()
	m.applied.expire(now)
	m.lbMu.Unlock()
	return n
}

// sweepLocked removes the sessions expired at now and returns how many;
// m.mu is held.
func (m *MemoryStore) sweepLocked(now time.Time) int {
	if now.Before(m.sweepAfter) {
		return 0
	}
	n, next := 0, never
	for k, s := range m.sessions {
		if !now.Before(s.ExpiresAt) {
			delete(m.sessions, k)
			n++
		} else {
			next = minTime(next, s.ExpiresAt)
		}
	}
	m.sweepAfter = next
	return n
}

// RecordResult implements SessionStore.
func (m *MemoryStore) RecordResult(ctx context.Context, matchID, mode string, standings []netcode.Standing) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("record result: %w", err)
	}
	if matchID == "" {
		return false, errNoMatchID
	}
	m.lbMu.Lock()
	defer m.lbMu.Unlock()
	now := m.now()
	m.applied.expire(now)
	k := matchKey{mode: mode, id: matchID}
	if _, ok := m.applied.at[k]; ok {
		return false, nil
	}
	m.applied.add(k, now)
	b := m.boards[mode]
	if b == nil {
		b = &memBoard{players: make(map[string]*memEntry)}
		m.boards[mode] = b
	}
	b.record(standings)
	return true, nil
}

// Leaderboard implements SessionStore. For n <= 100 it copies the ranked
// top; a larger n selects from the whole board.
func (m *MemoryStore) Leaderboard(ctx context.Context, mode string, n int) ([]LeaderboardEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	if n <= 0 {
		return []LeaderboardEntry{}, nil
	}
	m.lbMu.Lock()
	defer m.lbMu.Unlock()
	b := m.boards[mode]
	if b == nil {
		return []LeaderboardEntry{}, nil
	}
	var es []*memEntry
	if n <= leaderboardTop {
		if b.stale {
			b.rank()
		}
		es = b.top[:min(n, len(b.top))]
	} else {
		es = selectTop(b.players, n, make([]*memEntry, 0, min(n, len(b.players))))
	}
	out := make([]LeaderboardEntry, len(es))
	for i, e := range es {
		out[i] = e.LeaderboardEntry
	}
	return out, nil
}

// Close stops the sweeper; it implements SessionStore.
func (m *MemoryStore) Close() error {
	m.closeOnce.Do(func() { close(m.stop) })
	<-m.done
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// matchKey names a counted match.
type matchKey struct{ mode, id string }

// appliedMatches remembers the matches whose results were counted, for
// resultMemory and at most max of them, forgetting the oldest first.
type appliedMatches struct {
	at    map[matchKey]time.Time // when each was counted
	queue []appliedMatch         // queue[head:] are in at, oldest first
	head  int
	max   int
}

type appliedMatch struct {
	key matchKey
	at  time.Time
}

func (a *appliedMatches) add(k matchKey, now time.Time) {
	for len(a.at) >= a.max {
		a.popOldest()
	}
	a.at[k] = now
	a.queue = append(a.queue, appliedMatch{key: k, at: now})
}

// expire forgets the matches counted resultMemory or more before now.
func (a *appliedMatches) expire(now time.Time) {
	for a.head < len(a.queue) && !now.Before(a.queue[a.head].at.Add(resultMemory)) {
		a.popOldest()
	}
}

func (a *appliedMatches) popOldest() {
	delete(a.at, a.queue[a.head].key)
	a.queue[a.head] = appliedMatch{}
	a.head++
	// Reuse the queue's front once half of it is spent.
	if a.head >= 1024 && 2*a.head >= len(a.queue) {
		n := copy(a.queue, a.queue[a.head:])
		clear(a.queue[n:])
		a.queue, a.head = a.queue[:n], 0
	}
}

// memBoard is one mode's leaderboard in a MemoryStore.
type memBoard struct {
	players map[string]*memEntry
	// top is the best min(leaderboardTop, len(players)) players in rank
	// order, unless stale: a result made one of them drop, and the next
	// Leaderboard call ranks the board again.
	top   []*memEntry
	stale bool
	gen   uint64 // results recorded: marks the players a result changed
	// ranked counts the selections over the whole board.
	ranked int
}

type memEntry struct {
	LeaderboardEntry
	inTop bool   // in memBoard.top
	gen   uint64 // the last result that changed it
}

// record adds one match's standings and keeps top ranked.
func (b *memBoard) record(standings []netcode.Standing) {
	b.gen++
	changed := make([]*memEntry, 0, len(standings))
	for _, st := range standings {
		e := b.players[st.PlayerID]
		if e == nil {
			e = &memEntry{LeaderboardEntry: LeaderboardEntry{PlayerID: st.PlayerID}}
			b.players[st.PlayerID] = e
		}
		e.Name = st.Name
		if st.Place == 1 {
			e.Wins++
		} else {
			e.Losses++
			if st.Score < 0 && e.inTop {
				b.stale = true // it may drop below someone outside top
			}
		}
		e.Score += int64(st.Score)
		if e.gen != b.gen {
			e.gen = b.gen
			changed = append(changed, e)
		}
	}
	if b.stale {
		return
	}
	// Every changed player kept or improved their rank, and no one else
	// moved: whoever was behind the whole top still is, so the new top is
	// among the old top and the changed players.
	cand := make([]*memEntry, 0, len(b.top)+len(changed))
	for _, e := range b.top {
		e.inTop = false
		if e.gen != b.gen {
			cand = append(cand, e)
		}
	}
	cand = append(cand, changed...)
	slices.SortFunc(cand, compareMemEntries)
	b.setTop(cand[:min(len(cand), leaderboardTop)])
}

// rank selects top from the whole board.
func (b *memBoard) rank() {
	b.ranked++
	for _, e := range b.top {
		e.inTop = false
	}
	b.setTop(selectTop(b.players, leaderboardTop, make([]*memEntry, 0, min(leaderboardTop, len(b.players)))))
	b.stale = false
}

func (b *memBoard) setTop(es []*memEntry) {
	for _, e := range es {
		e.inTop = true
	}
	b.top = append(b.top[:0], es...)
}

// selectTop returns the best k players in rank order, in h's array. It
// keeps a heap of the best k so far with the worst of them at its root:
// O(len(players)·log k) time, no allocation beyond h's growth to k.
func selectTop(players map[string]*memEntry, k int, h []*memEntry) []*memEntry {
	h = h[:0]
	if k <= 0 {
		return h
	}
	for _, e := range players {
		if len(h) < k {
			h = append(h, e)
			siftUp(h, len(h)-1)
		} else if compareMemEntries(e, h[0]) < 0 {
			h[0] = e
			siftDown(h, 0)
		}
	}
	// Move the worst to the end, again and again: h ends in rank order.
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0]
		siftDown(h[:n], 0)
	}
	return h
}

// siftUp and siftDown keep h a heap whose every parent ranks after its
// children.
func siftUp(h []*memEntry, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if compareMemEntries(h[i], h[p]) <= 0 {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown(h []*memEntry, i int) {
	for {
		w := 2*i + 1
		if w >= len(h) {
			return
		}
		if r := w + 1; r < len(h) && compareMemEntries(h[r], h[w]) > 0 {
			w = r
		}
		if compareMemEntries(h[w], h[i]) <= 0 {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

func compareMemEntries(a, b *memEntry) int {
	return compareEntries(&a.LeaderboardEntry, &b.LeaderboardEntry)
}

// compareEntries orders by rank: wins, then score (both descending), then
// player id.
func compareEntries(a, b *LeaderboardEntry) int {
	if c := cmp.Compare(b.Wins, a.Wins); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	return strings.Compare(a.PlayerID, b.PlayerID)
}

// sortLeaderboard orders by wins, then score, then player id.
func sortLeaderboard(es []LeaderboardEntry) {
	slices.SortFunc(es, func(a, b LeaderboardEntry) int { return compareEntries(&a, &b) })
}
