package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// ErrNoSession is returned for an unknown or expired token.
var ErrNoSession = errors.New("session not found")

// Session is what the server knows of a player between connections.
type Session struct {
	PlayerID  string
	Name      string
	ExpiresAt time.Time
}

// SessionStore records sessions by token. Tokens are never stored in clear:
// implementations key records by HashToken(token).
type SessionStore interface {
	// Create records s under a new token and returns the token.
	Create(ctx context.Context, s Session) (token string, err error)
	// Lookup returns the session of token and slides its expiry by ttl.
	Lookup(ctx context.Context, token string, ttl time.Duration) (Session, error)
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
	mu   sync.Mutex
	now  func() time.Time
	byID map[string]Session // by token hash
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{now: time.Now, byID: make(map[string]Session)}
}

// Create implements SessionStore.
func (m *MemoryStore) Create(_ context.Context, s Session) (string, error) {
	tok := NewToken()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	m.byID[HashToken(tok)] = s
	return tok, nil
}

// Lookup implements SessionStore.
func (m *MemoryStore) Lookup(_ context.Context, token string, ttl time.Duration) (Session, error) {
	key := HashToken(token)
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[key]
	now := m.now()
	if !ok || !now.Before(s.ExpiresAt) {
		delete(m.byID, key)
		return Session{}, ErrNoSession
	}
	s.ExpiresAt = now.Add(ttl)
	m.byID[key] = s
	return s, nil
}

// sweep drops expired sessions, a few per call; m.mu is held.
func (m *MemoryStore) sweep() {
	now, n := m.now(), 0
	for k, s := range m.byID {
		if !now.Before(s.ExpiresAt) {
			delete(m.byID, k)
		}
		if n++; n == 16 {
			return
		}
	}
}
