package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/match"
)

// The fleet-wide matchmaking queue: a node's players join and leave the
// mode queues in Redis (and go back in after a Redis restart), and the
// node holding the matchmaker lease forms new matches and backfills
// running ones from those queues, on the least loaded nodes.

// resync makes mode queues in Redis hold exactly the players waiting in
// the fleet's queue on this node: tickets lost with a Redis restart come
// back, tickets of players who left or were matched here meanwhile go.
func (f *fleet) resync() {
	f.sync(f.s.lobby.FleetQueued(0), true)
	f.log.Info("fleet: queue resynced")
}

// requeueEvery: a node puts back in the queue its players who have waited
// that long and whose ticket is gone (lost with a Redis restart too quick
// to notice, or claimed for a match on a node that died before it started
// it). A player waiting less long may be on their way to a match.
const requeueEvery = 5 * time.Second

func (f *fleet) requeueLoop() {
	f.every(requeueEvery, func() {
		if f.healthyFor() > 0 && !f.draining.Load() {
			f.sync(f.s.lobby.FleetQueued(requeueEvery), false)
		}
	})
}

// sync puts the tickets of want back in their queues, keeping the place of
// those still there; with prune it also drops this node's tickets of
// players not in want.
func (f *fleet) sync(want map[string]match.Queued, prune bool) {
	ctx, cancel := f.ctx()
	defer cancel()
	for mode := range f.s.modes {
		if !prune {
			break
		}
		all, err := f.rdb.HGetAll(ctx, fleetKey("qt", mode)).Result()
		if err != nil {
			f.warn("fleet: resync", err)
			return
		}
		for id, v := range all {
			var t match.Ticket
			if json.Unmarshal([]byte(v), &t) == nil && t.Node == f.id && want[id].Mode != mode {
				pipe := f.rdb.TxPipeline()
				pipe.ZRem(ctx, fleetKey("q", mode), id)
				pipe.HDel(ctx, fleetKey("qt", mode), id)
				_, _ = pipe.Exec(ctx)
			}
		}
	}
	for _, w := range want {
		w.Ticket.Node = f.id
		if err := f.enqueue(ctx, w.Mode, w.Ticket, time.Now()); err != nil {
			f.warn("fleet: resync", err)
			return
		}
	}
}

// Enqueue implements match.Fleet.
func (f *fleet) Enqueue(p *match.Player, mode string) {
	t := match.Ticket{ID: p.ID, Name: p.Name, Key: p.Key, Node: f.id}
	if f.healthyFor() == 0 {
		// Redis is out of reach: do not wait for it.
		f.s.metrics.fleetFallbacks.Inc()
		f.logs.log(f.log, slog.LevelWarn, "fleet: queue unreachable, matching on this node", "player", t.ID, "mode", mode)
		go f.s.lobby.QueueLocal(t.ID, mode)
		return
	}
	f.push(func(ctx context.Context) error {
		err := f.enqueue(ctx, mode, t, time.Now())
		if err != nil {
			f.s.metrics.fleetFallbacks.Inc()
			f.logs.log(f.log, slog.LevelWarn, "fleet: queue unreachable, matching on this node", "player", t.ID, "mode", mode, "err", err)
			go f.s.lobby.QueueLocal(t.ID, mode)
		}
		return nil
	})
}

func (f *fleet) enqueue(ctx context.Context, mode string, t match.Ticket, at time.Time) error {
	b, _ := json.Marshal(t)
	pipe := f.rdb.TxPipeline()
	pipe.ZAddNX(ctx, fleetKey("q", mode), redis.Z{Score: float64(at.UnixMilli()), Member: t.ID})
	pipe.HSet(ctx, fleetKey("qt", mode), t.ID, b)
	_, err := pipe.Exec(ctx)
	return err
}

// Dequeue implements match.Fleet.
func (f *fleet) Dequeue(id, mode string) {
	f.push(func(ctx context.Context) error {
		pipe := f.rdb.TxPipeline()
		pipe.ZRem(ctx, fleetKey("q", mode), id)
		pipe.HDel(ctx, fleetKey("qt", mode), id)
		_, err := pipe.Exec(ctx)
		return err
	})
}

// releaseLease gives up the matchmaker lease, if this node holds it:
// another node takes the matchmaking at once.
func (f *fleet) releaseLease() {
	ctx, cancel := f.ctx()
	defer cancel()
	_ = releaseScript.Run(ctx, f.rdb, []string{fleetKey("mm")}, f.id).Err()
}

func (f *fleet) matchmakeLoop() { f.every(matchmakeEvery, f.matchmake) }

// matchmake runs one round of the fleet's matchmaking, if this node holds
// the lease.
func (f *fleet) matchmake() {
	if f.draining.Load() || f.healthyFor() == 0 {
		return
	}
	ctx, cancel := f.ctx()
	defer cancel()
	ok, err := leaseScript.Run(ctx, f.rdb, []string{fleetKey("mm")}, f.id, mmLease.Milliseconds()).Int()
	if err != nil || ok != 1 {
		return
	}
	modes := make([]string, 0, len(f.s.modes))
	for name := range f.s.modes {
		modes = append(modes, name)
	}
	sort.Strings(modes)
	// A node's load is its players as its record says, plus the players
	// sent to it since that record was written (records are a second old).
	now := time.Now()
	load := map[string]int{}
	for _, n := range f.Nodes() {
		if !n.Draining && !n.Full {
			load[n.ID] = n.Players
		}
	}
	for i := 0; i < len(f.sent); i++ {
		if s := f.sent[i]; now.Sub(s.at) > 2*nodeRefresh {
			f.sent = append(f.sent[:i], f.sent[i+1:]...)
			i--
		} else if _, ok := load[s.node]; ok {
			load[s.node] += s.n
		}
	}
	before := maps.Clone(load)
	for _, mode := range modes {
		if err := f.matchMode(ctx, mode, load); err != nil {
			f.warn("fleet: matchmaking", err)
		}
	}
	for id, n := range load {
		if d := n - before[id]; d > 0 {
			f.sent = append(f.sent, sentLoad{node: id, n: d, at: now})
		}
	}
}

// sentLoad is players the matchmaker sent to a node lately.
type sentLoad struct {
	node string
	n    int
	at   time.Time
}

// queued is a ticket waiting in a fleet queue.
type queued struct {
	t  match.Ticket
	at time.Time
}

func (f *fleet) matchMode(ctx context.Context, mode string, load map[string]int) error {
	zs, err := f.rdb.ZRangeWithScores(ctx, fleetKey("q", mode), 0, 999).Result()
	if err != nil || len(zs) == 0 {
		return err
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i], _ = z.Member.(string)
	}
	vals, err := f.rdb.HMGet(ctx, fleetKey("qt", mode), ids...).Result()
	if err != nil {
		return err
	}
	var q []queued
	for i, v := range vals {
		s, ok := v.(string)
		var t match.Ticket
		if !ok || json.Unmarshal([]byte(s), &t) != nil || t.ID != ids[i] {
			f.rdb.ZRem(ctx, fleetKey("q", mode), ids[i])
			continue
		}
		q = append(q, queued{t: t, at: time.UnixMilli(int64(zs[i].Score))})
	}
	// Backfill: free seats of running matches, fullest first.
	free, err := f.rdb.HGetAll(ctx, fleetKey("free", mode)).Result()
	if err != nil {
		return err
	}
	type slot struct {
		id   string
		free int
	}
	var slots []slot
	for id, v := range free {
		if n, _ := strconv.Atoi(v); n > 0 {
			slots = append(slots, slot{id, n})
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].free != slots[j].free {
			return slots[i].free < slots[j].free
		}
		return slots[i].id < slots[j].id
	})
	for _, sl := range slots {
		if len(q) == 0 {
			break
		}
		host, n, err := f.hostOf(ctx, sl.id)
		if err != nil {
			return err
		}
		if n == nil || n.Draining || n.Full {
			if host == "" {
				f.rdb.HDel(ctx, fleetKey("free", mode), sl.id)
			}
			continue
		}
		k := min(sl.free, len(q))
		claimed, err := f.claim(ctx, mode, sl.id, q[:k])
		if err != nil {
			return err
		}
		q = q[k:]
		if len(claimed) > 0 {
			load[host] += len(claimed)
			if err := f.publish(ctx, host, fleetMsg{T: "fill", Match: sl.id, Mode: mode, Tickets: claimed}); err != nil {
				return err
			}
		}
	}
	// New matches: full ones, then one with whoever waited FillTimeout.
	maxP := f.s.modes[mode].Spec().MaxPlayers
	for len(q) > 0 {
		k := min(maxP, len(q))
		if k < maxP && time.Since(q[0].at) < f.s.opts.FillTimeout {
			break
		}
		host := ""
		for id, n := range load {
			if host == "" || n < load[host] || (n == load[host] && id < host) {
				host = id
			}
		}
		if host == "" {
			return nil
		}
		id := newMatchID()
		claimed, err := f.claim(ctx, mode, "", q[:k])
		if err != nil {
			return err
		}
		q = q[k:]
		if len(claimed) == 0 {
			continue
		}
		load[host] += len(claimed)
		if err := f.publish(ctx, host, fleetMsg{T: "host", Match: id, Mode: mode, Tickets: claimed}); err != nil {
			return err
		}
	}
	return nil
}

// newMatchID returns a fleet-wide unique match ID.
func newMatchID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "m-" + hex.EncodeToString(b[:])
}

// claim takes the tickets out of mode's queue, atomically; it returns
// those it took (a player may have left meanwhile). For a backfill of
// match id, its free seats go down by as many.
func (f *fleet) claim(ctx context.Context, mode, id string, q []queued) ([]match.Ticket, error) {
	args := []any{id}
	for _, e := range q {
		args = append(args, e.t.ID)
	}
	keys := []string{fleetKey("q", mode), fleetKey("qt", mode), fleetKey("free", mode)}
	got, err := claimScript.Run(ctx, f.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, err
	}
	var out []match.Ticket
	for _, e := range q {
		for _, g := range got {
			if g == e.t.ID {
				out = append(out, e.t)
				break
			}
		}
	}
	return out, nil
}

// leaseScript takes or renews the lease at KEYS[1] for ARGV[1], for
// ARGV[2] ms; 1 if this node holds it.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseScript gives up the lease at KEYS[1] if ARGV[1] holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// claimScript takes players out of a queue: KEYS: q, qt, free.
// ARGV: match id for a backfill ("" for a new match), player ids. It
// returns the ids it took.
var claimScript = redis.NewScript(`
local took = {}
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[2], ARGV[i])
    took[#took + 1] = ARGV[i]
  end
end
if ARGV[1] ~= '' and #took > 0 then
  local left = redis.call('HINCRBY', KEYS[3], ARGV[1], -#took)
  if left <= 0 then redis.call('HDEL', KEYS[3], ARGV[1]) end
end
return took
`)
