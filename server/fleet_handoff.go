package server

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/match"
)

// Drain and hand-off: a node shutting down while other nodes live gives
// each of its matches, frozen with a final checkpoint, to the least loaded
// of them and sends its players there; the receiving node resumes it.

// drainProbe bounds the check that Redis answers before a drain.
const drainProbe = 300 * time.Millisecond

// handOff moves every match of this node to the other nodes and sends
// every player there. It reports false if there is no other node (the
// node then shuts down as a single one).
func (f *fleet) handOff(ctx context.Context) bool {
	// Redis out of reach (or just gone): shut down as a single node, with
	// the shutdown's time left for the matches' results.
	if f.healthyFor() == 0 {
		return false
	}
	probe, cancel := context.WithTimeout(ctx, drainProbe)
	err := f.rdb.Ping(probe).Err()
	cancel()
	if err != nil {
		return false
	}
	stop := context.AfterFunc(ctx, f.cancelBase)
	defer stop()
	f.draining.Store(true)
	f.refresh()
	if _, err := f.readNodes(); err != nil || f.healthyFor() == 0 {
		f.draining.Store(false)
		return false
	}
	targets := f.others()
	if len(targets) == 0 {
		f.draining.Store(false)
		return false
	}
	f.releaseLease()
	t0 := time.Now()
	f.s.lobby.Drain(targets[0].URL)
	load := make([]int, len(targets))
	for i, n := range targets {
		load[i] = n.Players
	}
	ids := f.s.lobby.MatchIDs()
	var wg sync.WaitGroup
	for _, id := range ids {
		data := f.s.lobby.Freeze(ctx, id)
		if data == nil {
			continue
		}
		var cp match.Checkpoint
		seated := 0
		if match.DecodeCheckpoint(data, &cp) == nil {
			for _, s := range cp.Seats {
				if s.PlayerID != "" {
					seated++
				}
			}
		}
		k := 0
		for i := range targets {
			if load[i] < load[k] {
				k = i
			}
		}
		load[k] += seated
		to := targets[k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.mu.Lock()
			f.ended[id] = time.Now() // no more checkpoints from here
			delete(f.cps, id)
			delete(f.free, id)
			f.mu.Unlock()
			octx, cancel := f.ctx()
			defer cancel()
			keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", f.id), fleetKey("nm", to.ID), fleetKey("adopt", id), fleetKey("free", cp.Mode)}
			ok, err := handoffScript.Run(octx, f.rdb, keys, f.id, to.ID, data, id).Int()
			if err == nil && ok == 1 {
				err = f.publish(octx, to.ID, fleetMsg{T: "adopt", Match: id, From: f.id})
			}
			if err != nil || ok != 1 {
				f.log.Error("fleet: hand-off failed, the match ends here", "match", id, "to", to.ID, "err", err)
				f.s.lobby.Thaw(id)
				return
			}
			f.s.lobby.MoveAway(id, to.URL)
			f.s.metrics.handedOff.Inc()
		}()
	}
	wg.Wait()
	f.log.Info("fleet: drained", "matches", len(ids), "took", time.Since(t0))
	return true
}

// adoptHandedOff runs a match a draining node handed to this one.
func (f *fleet) adoptHandedOff(id string) {
	ctx, cancel := f.ctx()
	defer cancel()
	host, data := "", ""
	pipe := f.rdb.Pipeline()
	h := pipe.HGet(ctx, fleetKey("m", id), "node")
	c := pipe.Get(ctx, fleetKey("cp", id))
	if _, err := pipe.Exec(ctx); err != nil {
		f.warn("fleet: reading a handed-off match", err)
		return
	}
	host, data = h.Val(), c.Val()
	if host != f.id {
		return
	}
	f.resume(id, []byte(data), "handed off")
}

// handoffScript gives a match of this node, with its final checkpoint, to
// another node. KEYS: m, cp, nm:self, nm:to, adopt, free:mode.
// ARGV: self, to, data, id.
var handoffScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'node', ARGV[2])
redis.call('SREM', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('DEL', KEYS[5])
redis.call('HDEL', KEYS[6], ARGV[4])
return 1
`)
