package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sort"
	"sync"
	"time"

	"skirmish/netcode"
)

// ErrNoSession is returned for an unknown or expired token.
var ErrNoSession = errors.New("session not found")

// ErrStoreFull is returned by Create when the store holds its most sessions.
var ErrStoreFull = errors.New("session store full")

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
	// for ttl, and returns its token.
	Create(ctx context.Context, s Session, ttl time.Duration) (token string, err error)
	// Lookup returns the session filed under hash and slides its expiry
	// to ttl from now.
	Lookup(ctx context.Context, hash string, ttl time.Duration) (Session, error)
	// Save overwrites the seat fields (MatchID, Seat, NodeID, LastSeq,
	// Status) of the session under hash. With Status away, the seat is held
	// for grace (millisecond precision); otherwise the hold is dropped.
	Save(ctx context.Context, hash string, s Session, grace time.Duration) error
	// RecordResult adds a match's standings to mode's leaderboard: place 1
	// wins, every other place loses, scores add up.
	RecordResult(ctx context.Context, matchID, mode string, standings []netcode.Standing) (applied bool, err error)
	// Leaderboard returns mode's top n players by wins, then score.
	Leaderboard(ctx context.Context, mode string, n int) ([]LeaderboardEntry, error)
	// Close releases the store's connections.
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

// MemoryStore is the in-process SessionStore, the default.
type MemoryStore struct {
	mu       sync.Mutex
	now      func() time.Time
	sessions map[string]*memSession // by token hash
	boards   map[string]map[string]*LeaderboardEntry
}

type memSession struct {
	Session
	seatUntil time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(maxSessions int) *MemoryStore {
	return &MemoryStore{now: time.Now, sessions: make(map[string]*memSession), boards: make(map[string]map[string]*LeaderboardEntry)}
}

// Create implements SessionStore.
func (m *MemoryStore) Create(ctx context.Context, s Session, ttl time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tok := NewToken()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	s.ExpiresAt = m.now().Add(ttl)
	// A new session is in the lobby, like RedisStore's.
	s.MatchID, s.Seat, s.NodeID, s.LastSeq, s.Status, s.SeatHeld = "", -1, "", 0, StatusLobby, false
	m.sessions[HashToken(tok)] = &memSession{Session: s}
	return tok, nil
}

// Lookup implements SessionStore.
func (m *MemoryStore) Lookup(ctx context.Context, hash string, ttl time.Duration) (Session, error) {
	if err := ctx.Err(); err != nil {
		return Session{}, err
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
	out := s.Session
	out.SeatHeld = s.Status == StatusAway && now.Before(s.seatUntil)
	return out, nil
}

// Save implements SessionStore.
func (m *MemoryStore) Save(ctx context.Context, hash string, s Session, grace time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.sessions[hash]
	if !ok {
		return ErrNoSession
	}
	cur.MatchID, cur.Seat, cur.NodeID, cur.LastSeq, cur.Status = s.MatchID, s.Seat, s.NodeID, s.LastSeq, s.Status
	cur.seatUntil = time.Time{}
	if s.Status == StatusAway {
		cur.seatUntil = m.now().Add(grace)
	}
	return nil
}

// RecordResult implements SessionStore.
func (m *MemoryStore) RecordResult(ctx context.Context, matchID, mode string, standings []netcode.Standing) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boards[mode]
	if b == nil {
		b = make(map[string]*LeaderboardEntry)
		m.boards[mode] = b
	}
	for _, st := range standings {
		e := b[st.PlayerID]
		if e == nil {
			e = &LeaderboardEntry{PlayerID: st.PlayerID}
			b[st.PlayerID] = e
		}
		e.Name = st.Name
		if st.Place == 1 {
			e.Wins++
		} else {
			e.Losses++
		}
		e.Score += int64(st.Score)
	}
	return true, nil
}

// Leaderboard implements SessionStore.
func (m *MemoryStore) Leaderboard(ctx context.Context, mode string, n int) ([]LeaderboardEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]LeaderboardEntry, 0, len(m.boards[mode]))
	for _, e := range m.boards[mode] {
		out = append(out, *e)
	}
	sortLeaderboard(out)
	return out[:min(n, len(out))], nil
}

// Close implements SessionStore.
func (m *MemoryStore) Close() error { return nil }

// sortLeaderboard orders by wins, then score, then player id.
func sortLeaderboard(es []LeaderboardEntry) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Wins != b.Wins {
			return a.Wins > b.Wins
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.PlayerID < b.PlayerID
	})
}

// sweep drops expired sessions, a few per call; m.mu is held.
func (m *MemoryStore) sweep() {
	now, n := m.now(), 0
	for k, s := range m.sessions {
		if !now.Before(s.ExpiresAt) {
			delete(m.sessions, k)
		}
		if n++; n == 16 {
			return
		}
	}
}
