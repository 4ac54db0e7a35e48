package server

import (
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/match"
)

// Dead nodes and adoption: the watch loop reads the node records, and the
// matches of a node that stopped refreshing its record are adopted by the
// live nodes (rendezvous hashing, under a lease) and resumed from their
// latest checkpoint. A node restarted quickly reclaims its own matches.

// reclaim resumes the matches that the records say this node hosts: a node
// restarted with the same ID before its old record expired (a crash and a
// quick restart) would otherwise hold them forever without running them.
func (f *fleet) reclaim() {
	ctx, cancel := f.ctx()
	defer cancel()
	ids, err := f.rdb.SMembers(ctx, fleetKey("nm", f.id)).Result()
	if err != nil {
		return
	}
	for _, id := range ids {
		pipe := f.rdb.Pipeline()
		h := pipe.HGet(ctx, fleetKey("m", id), "node")
		c := pipe.Get(ctx, fleetKey("cp", id))
		if _, err := pipe.Exec(ctx); err != nil || h.Val() != f.id {
			f.rdb.SRem(ctx, fleetKey("nm", f.id), id)
			continue
		}
		f.resume(id, []byte(c.Val()), "reclaimed after a restart")
	}
}

func (f *fleet) watchLoop() { f.every(watchEvery, f.watch) }

func (f *fleet) watch() {
	dead, err := f.readNodes()
	if err != nil || f.draining.Load() || f.healthyFor() < healthyBeforeAdopting {
		return
	}
	for _, d := range dead {
		if d != f.id {
			f.adoptFrom(d)
		}
	}
}

// adoptFrom adopts the matches of dead node d that fall to this node.
func (f *fleet) adoptFrom(d string) {
	ctx, cancel := f.ctx()
	defer cancel()
	ids, err := f.rdb.SMembers(ctx, fleetKey("nm", d)).Result()
	if err != nil {
		return
	}
	if len(ids) == 0 {
		// Nothing left of d: forget it, unless it came back meanwhile.
		_ = forgetNodeScript.Run(ctx, f.rdb, []string{fleetKey("node", d), fleetKey("nodes"), fleetKey("nm", d)}, d).Err()
		return
	}
	// A full node (overloaded, or at -max-players) takes no one's match
	// while another can: it adopts only after adoptFallback, as the last
	// resort that keeps the match from being lost.
	takers := adoptTakers(f.Nodes())
	full := f.s.full()
	now := time.Now()
	for _, id := range ids {
		first, seen := f.orphans[id]
		if !seen {
			first = now
			f.orphans[id] = now
		}
		if !adoptsNow(f.id, id, takers, full, now.Sub(first)) {
			continue
		}
		f.adopt(id, d)
	}
	for id, t := range f.orphans {
		if now.Sub(t) > time.Minute {
			delete(f.orphans, id)
		}
	}
}

// adoptTakers returns the nodes that may adopt a dead node's matches at
// once: those neither draining nor full.
func adoptTakers(nodes []NodeInfo) []string {
	var takers []string
	for _, n := range nodes {
		if !n.Draining && !n.Full {
			takers = append(takers, n.ID)
		}
	}
	return takers
}

// adoptsNow reports whether node me adopts orphaned match id, which has
// been orphaned for waited: the taker rendezvous hashing picks does at
// once, unless it is full now; any node does after adoptFallback.
func adoptsNow(me, id string, takers []string, full bool, waited time.Duration) bool {
	return waited >= adoptFallback || !full && pick(id, takers) == me
}

// pick chooses the node of nodes that adopts match id (rendezvous hashing:
// the matches of a dead node spread over the live ones).
func pick(id string, nodes []string) string {
	var best string
	var bestH uint64
	for _, n := range nodes {
		h := fnv.New64a()
		h.Write([]byte(id))
		h.Write([]byte{0})
		h.Write([]byte(n))
		if v := h.Sum64(); best == "" || v > bestH {
			best, bestH = n, v
		}
	}
	return best
}

// adopt takes match id of dead node d, under its lease, and runs it here
// from its checkpoint.
func (f *fleet) adopt(id, d string) {
	ctx, cancel := f.ctx()
	defer cancel()
	keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", d), fleetKey("nm", f.id),
		fleetKey("adopt", id), fleetKey("node", d)}
	data, err := adoptScript.Run(ctx, f.rdb, keys, f.id, d, id, adoptLease.Milliseconds()).Text()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			f.warn("fleet: adopting", err)
		}
		return
	}
	delete(f.orphans, id)
	f.resume(id, []byte(data), "adopted from "+d)
}

// resume runs match id here from checkpoint data; the records already name
// this node its host.
func (f *fleet) resume(id string, data []byte, why string) {
	var cp match.Checkpoint
	err := match.DecodeCheckpoint(data, &cp)
	if err == nil && cp.MatchID != id {
		err = fmt.Errorf("checkpoint of %s", cp.MatchID)
	}
	if err == nil {
		err = f.s.lobby.Adopt(&cp)
	}
	if err != nil {
		f.log.Error("fleet: cannot resume match", "match", id, "err", err)
		f.s.metrics.fleetErrors.WithLabelValues("resume").Inc()
		f.matchEnded(id, "")
		return
	}
	f.s.metrics.adopted.Inc()
	f.log.Info("fleet: match resumed here", "match", id, "why", why, "tick", cp.World.Tick)
}

// adoptScript moves a dead node's match to this node under the adoption
// lease and returns its checkpoint; nil if the node is alive after all,
// the match is no longer the dead node's, or the lease is taken.
// KEYS: m, cp, nm:dead, nm:self, adopt, node:dead. ARGV: self, dead, id, lease ms.
var adoptScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[6]) == 1 then return false end
local owner = redis.call('HGET', KEYS[1], 'node')
if owner ~= ARGV[2] then
  redis.call('SREM', KEYS[3], ARGV[3])
  return false
end
local cp = redis.call('GET', KEYS[2])
if not cp then
  redis.call('SREM', KEYS[3], ARGV[3])
  redis.call('DEL', KEYS[1])
  return false
end
if not redis.call('SET', KEYS[5], ARGV[1], 'NX', 'PX', ARGV[4]) then return false end
redis.call('HSET', KEYS[1], 'node', ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
return cp
`)

// forgetNodeScript drops a dead node with no matches left, unless it
// refreshed its record meanwhile. KEYS: node, nodes, nm. ARGV: id.
var forgetNodeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[3]) > 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)
