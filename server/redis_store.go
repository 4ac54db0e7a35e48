package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"skirmish/netcode"
)

// RedisStore is the SessionStore in Redis, through redis.UniversalClient:
// a single node, Sentinel or Cluster address all work. Every call has a
// deadline (opTimeout unless ctx's is sooner); sub-second TTLs use PEXPIRE
// and PX, since EXPIRE rounds to whole seconds.
//
// Keys: skirmish:s:<hash> is a session (a hash, sliding TTL);
// skirmish:h:<hash> exists while an away player's seat is held;
// skirmish:lb:<mode> ranks players (a sorted set), and
// skirmish:lbp:<mode>:<player> holds their wins, losses and score.
type RedisStore struct {
	rdb       redis.UniversalClient
	opTimeout time.Duration
}

const redisOpTimeout = time.Second

// redisLog sends go-redis's own messages (reconnect failures) to slog
// instead of stderr.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis client", "msg", fmt.Sprintf(format, v...))
}

// SetRedisLogger routes the Redis client library's messages to log.
func SetRedisLogger(log *slog.Logger) { redis.SetLogger(redisLog{log}) }

// NewRedisStore connects to the Redis at addrs (comma-separated for a
// Cluster or Sentinel; masterName selects Sentinel).
func NewRedisStore(addrs, masterName string) *RedisStore {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 strings.Split(addrs, ","),
		MasterName:            masterName,
		ContextTimeoutEnabled: true,
		DialTimeout:           redisOpTimeout,
		ReadTimeout:           redisOpTimeout,
		WriteTimeout:          redisOpTimeout,
		PoolTimeout:           redisOpTimeout,
		MaxRetries:            1,
		// Plain RESP2 request/response: no push notifications to watch.
		Protocol:                 2,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return &RedisStore{rdb: rdb, opTimeout: redisOpTimeout}
}

// NewRedisStoreClient wraps an existing client (tests, custom set-ups).
func NewRedisStoreClient(rdb redis.UniversalClient) *RedisStore {
	return &RedisStore{rdb: rdb, opTimeout: redisOpTimeout}
}

// Ping checks that Redis answers.
func (r *RedisStore) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	return r.rdb.Ping(ctx).Err()
}

func sessKey(hash string) string { return "skirmish:s:" + hash }
func holdKey(hash string) string { return "skirmish:h:" + hash }
func lbKey(mode string) string   { return "skirmish:lb:" + mode }
func lbpKey(mode, pid string) string {
	return "skirmish:lbp:" + mode + ":" + pid
}

// Create implements SessionStore.
func (r *RedisStore) Create(ctx context.Context, s Session, ttl time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	tok := NewToken()
	key := sessKey(HashToken(tok))
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "pid", s.PlayerID, "name", s.Name, "match", "", "seat", -1, "node", "", "seq", 0, "status", StatusLobby)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("redis create session: %w", err)
	}
	return tok, nil
}

// Lookup implements SessionStore.
func (r *RedisStore) Lookup(ctx context.Context, hash string, ttl time.Duration) (Session, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	key := sessKey(hash)
	var get *redis.MapStringStringCmd
	var held *redis.IntCmd
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HGetAll(ctx, key)
		p.PExpire(ctx, key, ttl)
		held = p.Exists(ctx, holdKey(hash))
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("redis lookup session: %w", err)
	}
	f := get.Val()
	if len(f) == 0 || f["pid"] == "" {
		return Session{}, ErrNoSession
	}
	seat, _ := strconv.Atoi(f["seat"])
	seq, _ := strconv.ParseUint(f["seq"], 10, 32)
	s := Session{
		PlayerID:  f["pid"],
		Name:      f["name"],
		MatchID:   f["match"],
		Seat:      seat,
		NodeID:    f["node"],
		LastSeq:   uint32(seq),
		Status:    f["status"],
		ExpiresAt: time.Now().Add(ttl),
	}
	s.SeatHeld = s.Status == StatusAway && held.Val() == 1
	return s, nil
}

// saveScript updates a session's seat fields only if the session still
// exists, so that an expired session is never recreated without its TTL.
var saveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'match', ARGV[1], 'seat', ARGV[2], 'node', ARGV[3], 'seq', ARGV[4], 'status', ARGV[5])
return 1`)

// Save implements SessionStore.
func (r *RedisStore) Save(ctx context.Context, hash string, s Session, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	n, err := saveScript.Run(ctx, r.rdb, []string{sessKey(hash)}, s.MatchID, s.Seat, s.NodeID, s.LastSeq, s.Status).Int()
	if err != nil {
		return fmt.Errorf("redis save session: %w", err)
	}
	if n == 0 {
		return ErrNoSession
	}
	if s.Status == StatusAway {
		err = r.rdb.Set(ctx, holdKey(hash), s.MatchID, grace).Err() // PX: ms precision
	} else {
		err = r.rdb.Del(ctx, holdKey(hash)).Err()
	}
	if err != nil {
		return fmt.Errorf("redis seat hold: %w", err)
	}
	return nil
}

// winWeight ranks wins before scores in the sorted set: a win outweighs
// any score a player could make.
const winWeight = 1e9

// RecordResult implements SessionStore.
func (r *RedisStore) RecordResult(ctx context.Context, matchID, mode string, standings []netcode.Standing) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, st := range standings {
			k := lbpKey(mode, st.PlayerID)
			win, field := 0.0, "losses"
			if st.Place == 1 {
				win, field = 1, "wins"
			}
			p.HSet(ctx, k, "name", st.Name)
			p.HIncrBy(ctx, k, field, 1)
			p.HIncrBy(ctx, k, "score", int64(st.Score))
			p.ZIncrBy(ctx, lbKey(mode), win*winWeight+float64(st.Score), st.PlayerID)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("redis record result: %w", err)
	}
	return true, nil
}

// Leaderboard implements SessionStore.
func (r *RedisStore) Leaderboard(ctx context.Context, mode string, n int) ([]LeaderboardEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	ids, err := r.rdb.ZRevRange(ctx, lbKey(mode), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis leaderboard: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, lbpKey(mode, id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis leaderboard: %w", err)
	}
	out := make([]LeaderboardEntry, 0, len(ids))
	for i, id := range ids {
		f := cmds[i].Val()
		e := LeaderboardEntry{PlayerID: id, Name: f["name"]}
		e.Wins, _ = strconv.ParseInt(f["wins"], 10, 64)
		e.Losses, _ = strconv.ParseInt(f["losses"], 10, 64)
		e.Score, _ = strconv.ParseInt(f["score"], 10, 64)
		out = append(out, e)
	}
	sortLeaderboard(out) // equal ranks come back in Redis's member order
	return out, nil
}

// Close implements SessionStore.
func (r *RedisStore) Close() error { return r.rdb.Close() }
