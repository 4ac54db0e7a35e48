package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// Keys. Every group of keys that one call touches together shares one
// Redis Cluster hash tag (the part in braces), so that it lives in one
// slot and a Lua script or MULTI may touch all of them:
//
//	skirmish:s:{<hash>}                  a session (a hash: pid, name, match,
//	                                     seat, node, seq, status), sliding TTL
//	skirmish:h:{<hash>}                  exists (value: the match id) while an
//	                                     away player's seat is held; PX grace
//	skirmish:{lb:<mode>}                 mode's ranking (a sorted set of player
//	                                     ids by winWeight·wins + score)
//	skirmish:{lb:<mode>}:p:<playerId>    the player's name, wins, losses and
//	                                     score in mode (a hash)
//	skirmish:{lb:<mode>}:done:<matchId>  set when the match's result was
//	                                     counted; PX 7 days
//
// <hash> is HashToken(token). Save is one script over a session and its
// hold; RecordResult is one script over a mode's keys, so a result is
// counted whole and once. These names replaced the untagged ones of
// earlier deploys (skirmish:s:<hash>, skirmish:lb:<mode>,
// skirmish:lbp:<mode>:<player>), which are not read: sessions and
// leaderboards recorded before the change are not seen.
//
// What Redis cannot guarantee: a failover to a replica that had not
// received the latest writes loses them, the done marker included, so a
// result retried across such a failover may count twice. A script is not
// rolled back when one of its commands fails; only a key of the wrong type
// (written by hand) can make one fail midway.
type RedisStore struct {
	rdb       redis.UniversalClient
	opTimeout time.Duration
}

const redisOpTimeout = time.Second

// redisLog sends go-redis's own messages (reconnect failures) to the slog
// logger last given to SetRedisLogger, at most one line a second (an
// outage makes it print one per attempt).
type redisLog struct{}

// redisLogger is the logger of redisLog: go-redis's logger is one for the
// process, installed once, and read by its connection pools at any time.
var (
	redisLogger     atomic.Pointer[slog.Logger]
	redisLoggerOnce sync.Once
)

func (redisLog) Printf(_ context.Context, format string, v ...any) {
	if log := redisLogger.Load(); log != nil {
		redisLogLimit.log(log, slog.LevelWarn, "redis client", "msg", fmt.Sprintf(format, v...))
	}
}

// redisLogLimit bounds the Redis client library's lines for the process
// (its logger is global).
var redisLogLimit = logLimiter{every: time.Second}

// SetRedisLogger routes the Redis client library's messages to log, at
// most one line a second with the count of the lines suppressed. The
// library has one logger for the process: the last call wins.
func SetRedisLogger(log *slog.Logger) {
	redisLogger.Store(log)
	redisLoggerOnce.Do(func() { redis.SetLogger(redisLog{}) })
}

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

func sessKey(hash string) string { return "skirmish:s:{" + hash + "}" }
func holdKey(hash string) string { return "skirmish:h:{" + hash + "}" }

// lbKey is mode's sorted set; every key of mode's leaderboard starts with
// it, so they share its hash tag.
func lbKey(mode string) string { return "skirmish:{lb:" + mode + "}" }
func lbPlayerKey(mode, pid string) string {
	return lbKey(mode) + ":p:" + pid
}
func lbDoneKey(mode, matchID string) string {
	return lbKey(mode) + ":done:" + matchID
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
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
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

// saveScript overwrites a session's seat fields and sets or drops its
// seat hold, in one step, and only if the session still exists, so that an
// expired session is never recreated without its TTL.
// KEYS: session, hold. ARGV: match, seat, node, seq, status, hold ms
// (0: drop the hold). Returns 0 if there is no session.
var saveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'match', ARGV[1], 'seat', ARGV[2], 'node', ARGV[3], 'seq', ARGV[4], 'status', ARGV[5])
if tonumber(ARGV[6]) > 0 then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[6])
else
  redis.call('DEL', KEYS[2])
end
return 1`)

// Save implements SessionStore.
func (r *RedisStore) Save(ctx context.Context, hash string, s Session, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	var holdMs int64
	if s.Status == StatusAway && grace > 0 {
		holdMs = int64((grace + time.Millisecond - 1) / time.Millisecond) // at least 1 ms
	}
	n, err := saveScript.Run(ctx, r.rdb, []string{sessKey(hash), holdKey(hash)},
		s.MatchID, s.Seat, s.NodeID, s.LastSeq, s.Status, holdMs).Int()
	if err != nil {
		return fmt.Errorf("redis save session: %w", err)
	}
	if n == 0 {
		return ErrNoSession
	}
	return nil
}

// winWeight ranks wins before scores in the sorted set: a win outweighs
// any score a player could make (while |score| < winWeight/2, and the sum
// stays exact in a float64: up to about 9 million wins).
const winWeight = 1e9

// recordScript counts a match's result once: it sets the match's done
// marker and, only if it was not set yet, adds every standing.
// KEYS: done marker, mode's sorted set, then one player hash per standing.
// ARGV: marker TTL ms, then per standing: player id, name, 1 for a win or
// 0 for a loss, score, sorted-set increment. Returns 1 if it counted the
// result, 0 if it had been counted before.
var recordScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local a = 2
for i = 3, #KEYS do
  local pid, name, win, score, incr = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4]
  a = a + 5
  redis.call('HSET', KEYS[i], 'name', name)
  if win == '1' then
    redis.call('HINCRBY', KEYS[i], 'wins', 1)
  else
    redis.call('HINCRBY', KEYS[i], 'losses', 1)
  end
  redis.call('HINCRBY', KEYS[i], 'score', score)
  redis.call('ZINCRBY', KEYS[2], incr, pid)
end
return 1`)

// RecordResult implements SessionStore, in one script: the done marker
// and the standings are written together or not at all.
func (r *RedisStore) RecordResult(ctx context.Context, matchID, mode string, standings []netcode.Standing) (bool, error) {
	if matchID == "" {
		return false, errNoMatchID
	}
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	keys := make([]string, 0, 2+len(standings))
	keys = append(keys, lbDoneKey(mode, matchID), lbKey(mode))
	args := make([]any, 0, 1+5*len(standings))
	args = append(args, resultMemory.Milliseconds())
	for _, st := range standings {
		win := 0
		if st.Place == 1 {
			win = 1
		}
		incr := float64(win)*winWeight + float64(st.Score)
		keys = append(keys, lbPlayerKey(mode, st.PlayerID))
		args = append(args, st.PlayerID, st.Name, win, st.Score, strconv.FormatFloat(incr, 'f', -1, 64))
	}
	n, err := recordScript.Run(ctx, r.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("redis record result: %w", err)
	}
	return n == 1, nil
}

// Leaderboard implements SessionStore. Among players tied at the n-th
// place it keeps the smallest ids, as the ranking says (the sorted set
// lists ties in descending id order).
func (r *RedisStore) Leaderboard(ctx context.Context, mode string, n int) ([]LeaderboardEntry, error) {
	if n <= 0 {
		return []LeaderboardEntry{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	key := lbKey(mode)
	zs, err := r.rdb.ZRevRangeWithScores(ctx, key, 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis leaderboard: %w", err)
	}
	ids := make([]string, 0, len(zs))
	tie := len(zs) // zs[tie:] share the last place's score
	if len(zs) == n {
		for tie > 0 && zs[tie-1].Score == zs[n-1].Score {
			tie--
		}
	}
	for _, z := range zs[:tie] {
		ids = append(ids, z.Member.(string))
	}
	if tie < len(zs) {
		score := strconv.FormatFloat(zs[n-1].Score, 'f', -1, 64)
		tied, err := r.rdb.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: score, Max: score, Count: int64(n - tie)}).Result()
		if err != nil {
			return nil, fmt.Errorf("redis leaderboard: %w", err)
		}
		ids = append(ids, tied...)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, lbPlayerKey(mode, id))
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
	sortLeaderboard(out) // the sorted set lists equal ranks by descending id
	return out, nil
}

// Close implements SessionStore.
func (r *RedisStore) Close() error { return r.rdb.Close() }
