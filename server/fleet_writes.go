package server

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// The writes to Redis, off the lobby and match goroutines: queue changes
// in order, the latest checkpoint and free seats of each match, ended
// matches; and the fence of a match another node adopted meanwhile.

type cpJob struct {
	mode string
	tick uint64
	free int
	data []byte
}

type freeJob struct {
	mode string
	free int
}

// Checkpoint implements match.Checkpointer: the latest checkpoint of each
// match waits for the writer.
func (f *fleet) Checkpoint(matchID, mode string, tick uint64, free int, data []byte, took time.Duration) {
	f.s.metrics.checkpointCPU.Observe(took.Seconds())
	f.mu.Lock()
	if _, gone := f.ended[matchID]; !gone {
		if _, queued := f.cps[matchID]; queued {
			f.s.metrics.checkpoints.WithLabelValues("replaced").Inc()
		}
		f.cps[matchID] = cpJob{mode: mode, tick: tick, free: free, data: data}
	}
	f.mu.Unlock()
	f.poke()
}

// Seats implements match.Fleet.
func (f *fleet) Seats(matchID, mode string, free int) {
	f.mu.Lock()
	if _, gone := f.ended[matchID]; !gone {
		f.free[matchID] = freeJob{mode: mode, free: free}
	}
	f.mu.Unlock()
	f.poke()
}

// ended forgets match id on this node: its records go, unless another
// node hosts it now.
func (f *fleet) matchEnded(id, mode string) {
	f.mu.Lock()
	delete(f.cps, id)
	delete(f.free, id)
	f.ended[id] = time.Now()
	f.jobs = append(f.jobs, func(ctx context.Context) error {
		keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", f.id), fleetKey("free", mode)}
		return endScript.Run(ctx, f.rdb, keys, f.id, id).Err()
	})
	f.mu.Unlock()
	f.poke()
}

func (f *fleet) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// maxFleetJobs bounds the writes waiting for Redis.
const maxFleetJobs = 100_000

func (f *fleet) push(job func(context.Context) error) {
	f.mu.Lock()
	if len(f.jobs) >= maxFleetJobs {
		f.mu.Unlock()
		f.s.metrics.fleetErrors.WithLabelValues("queue_full").Inc()
		return
	}
	f.jobs = append(f.jobs, job)
	f.mu.Unlock()
	f.poke()
}

// writeLoop writes to Redis what the lobby and the matches hand over:
// queue changes in order, the latest checkpoint and free seats of each
// match. A checkpoint that cannot be written is skipped (counted): the
// next one replaces it.
func (f *fleet) writeLoop() {
	for {
		select {
		case <-f.quit:
			return
		case <-f.wake:
		}
		f.drain()
	}
}

// flush writes what is left, until ctx ends.
func (f *fleet) flush(ctx context.Context) {
	for ctx.Err() == nil && f.drain() {
	}
}

// drain writes what waits; it reports whether there was anything.
func (f *fleet) drain() bool {
	f.mu.Lock()
	jobs, cps, free := f.jobs, f.cps, f.free
	f.jobs, f.cps, f.free = nil, map[string]cpJob{}, map[string]freeJob{}
	for id, t := range f.ended {
		if time.Since(t) > time.Minute {
			delete(f.ended, id)
		}
	}
	f.mu.Unlock()
	if len(jobs) == 0 && len(cps) == 0 && len(free) == 0 {
		return false
	}
	for _, job := range jobs {
		ctx, cancel := f.ctx()
		if err := job(ctx); err != nil {
			f.s.metrics.fleetErrors.WithLabelValues("write").Inc()
			f.warn("fleet: write", err)
		}
		cancel()
	}
	for id, j := range cps {
		f.writeCheckpoint(id, j)
	}
	for id, j := range free {
		ctx, cancel := f.ctx()
		var err error
		if j.free > 0 {
			err = f.rdb.HSet(ctx, fleetKey("free", j.mode), id, j.free).Err()
		} else {
			err = f.rdb.HDel(ctx, fleetKey("free", j.mode), id).Err()
		}
		cancel()
		if err != nil {
			f.s.metrics.fleetErrors.WithLabelValues("write").Inc()
		}
	}
	return true
}

func (f *fleet) writeCheckpoint(id string, j cpJob) {
	if f.healthyFor() == 0 {
		f.s.metrics.checkpoints.WithLabelValues("skipped").Inc()
		return
	}
	ctx, cancel := f.ctx()
	defer cancel()
	t0 := time.Now()
	keys := []string{fleetKey("m", id), fleetKey("cp", id), fleetKey("nm", f.id), fleetKey("free", j.mode)}
	owner, err := checkpointScript.Run(ctx, f.rdb, keys, f.id, j.data, j.mode, j.tick, j.free, id).Text()
	if err != nil {
		f.s.metrics.checkpoints.WithLabelValues("skipped").Inc()
		f.warn("fleet: checkpoint skipped", err)
		return
	}
	f.s.metrics.checkpoints.WithLabelValues("written").Inc()
	f.s.metrics.checkpointBytes.Add(float64(len(j.data)))
	f.s.metrics.checkpointWrite.Observe(time.Since(t0).Seconds())
	if owner != "" {
		// Another node adopted the match (this one was taken for dead):
		// its players go there.
		f.log.Warn("fleet: match adopted elsewhere, moving its players", "match", id, "host", owner)
		go f.fence(id, owner)
	}
}

// fence ends match id here, whose host is now node owner.
func (f *fleet) fence(id, owner string) {
	n, ok := f.node(owner)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !ok || f.s.lobby.Freeze(ctx, id) == nil {
		return
	}
	f.mu.Lock()
	f.ended[id] = time.Now()
	delete(f.cps, id)
	f.mu.Unlock()
	f.s.lobby.MoveAway(id, n.URL)
}

// checkpointScript writes a match's checkpoint and host record, unless
// another node hosts the match now (it returns that node's id).
// KEYS: m, cp, nm:self, free:mode. ARGV: self, data, mode, tick, free, id.
var checkpointScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
if owner and owner ~= ARGV[1] then return owner end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'mode', ARGV[3], 'tick', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[6])
if tonumber(ARGV[5]) > 0 then
  redis.call('HSET', KEYS[4], ARGV[6], ARGV[5])
else
  redis.call('HDEL', KEYS[4], ARGV[6])
end
return ''
`)

// endScript forgets an ended match, if this node hosts it.
// KEYS: m, cp, nm:self, free:mode. ARGV: self, id.
var endScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
redis.call('SREM', KEYS[3], ARGV[2])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[4], ARGV[2])
return 1
`)
