package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The run: it starts the bots over the ramp, runs the sampler, the control
// loop and the chaos beside them, and sums the bots' counters into the
// report. One bot's life is in bot.go, the per-second samples in
// sample.go, the connection cuts in chaos.go.

// ErrNoBots is returned by run when not a single bot could connect.
var ErrNoBots = errors.New("no bot could connect")

// runner is the state shared by the bots of one run.
type runner struct {
	cfg   Config
	log   *slog.Logger
	bots  []*bot
	start time.Time

	mu        sync.Mutex
	matchIDs  map[string]struct{}
	errs      int
	errSample []string
	// dialRefused counts dials refused with 503 (retried); the clients
	// count the queue requests refused as server_full.
	dialRefused int
	closeCodes  map[uint16]int // of bots that gave up; 0: no close frame
	series      []Sample

	playing   atomic.Int64
	tickRate  atomic.Int64 // of the last match a bot was seated in
	chaosCuts atomic.Int64
	// chaosCutsPlaying counts the cuts of bots seated in a match.
	chaosCutsPlaying atomic.Int64
}

// run starts cfg.N bots over cfg.Ramp, lets them play until cfg.Duration has
// elapsed since the start or ctx is cancelled, makes them leave and returns
// the report. Its error is ErrNoBots if no bot connected, or a
// configuration error.
func run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if cfg.ControlInterval <= 0 {
		cfg.ControlInterval = 100 * time.Millisecond
	}
	r := &runner{cfg: cfg, log: cfg.Logger, matchIDs: map[string]struct{}{}, closeCodes: map[uint16]int{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.start = time.Now()
	cpu0 := processCPU()
	ctx, cancel := context.WithDeadline(ctx, r.start.Add(cfg.Duration))
	defer cancel()

	var wg sync.WaitGroup
	for i := range cfg.N {
		b := &bot{id: i, r: r, pong: make(chan struct{}, 1)}
		r.bots = append(r.bots, b)
		delay := time.Duration(0)
		if cfg.N > 1 {
			delay = cfg.Ramp * time.Duration(i) / time.Duration(cfg.N)
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		wg.Go(func() { b.run(ctx, r.start.Add(delay), rng) })
	}
	var bg sync.WaitGroup
	bg.Go(func() { r.sampleLoop(ctx) })
	bg.Go(func() { r.controlLoop(ctx) })
	bg.Go(func() { r.chaos(ctx, rand.New(rand.NewPCG(cfg.Seed, math.MaxUint64))) })
	wg.Wait()
	cancel() // every bot is done, even if early: so is the run
	bg.Wait()
	rep := r.report(time.Since(r.start), processCPU()-cpu0)
	if rep.Connected == 0 {
		return rep, ErrNoBots
	}
	return rep, nil
}

// report sums the bots' counters; every bot has finished. cpu is the
// process's CPU time over the run.
func (r *runner) report(elapsed, cpu time.Duration) Report {
	t := totals{chaosCuts: int(r.chaosCuts.Load()), chaosCutsPlaying: int(r.chaosCutsPlaying.Load()), tickRate: int(r.tickRate.Load()), cpu: cpu}
	var acks []time.Duration
	for _, b := range r.bots {
		b.mu.Lock() // a client's read goroutine may outlive its bot
		acks = append(acks, b.acks...)
		t.recons = append(t.recons, b.recons...)
		t.queues = append(t.queues, b.queues...)
		t.migs = append(t.migs, b.migs...)
		b.mu.Unlock()
		t.hits += int(b.hits.Load())
		t.hitscanHits += int(b.hitscans.Load())
		t.staleAcks += int(b.staleAcks.Load())
		c := b.client.Load()
		if c == nil {
			continue
		}
		t.connected++
		if b.early.Load() {
			t.gaveUp++
		}
		s := c.Stats()
		t.snapshots += s.Snapshots
		t.inputsSent += s.InputsSent
		t.rejected += s.Rejected
		t.refused += s.Refused
		t.protocolErrors += s.ProtocolErrors
		t.bytesDown += s.BytesDown
		t.bytesUp += s.BytesUp
		t.disconnects += s.Disconnects
		t.reconnects += s.Reconnects
		t.resumed += s.Resumed
		t.moved += s.Moved
		t.migrated += s.Migrated
		t.inputsLost += s.InputsLost
		t.lateSends += s.LateSends
		t.drains += s.Drains
		t.maxPredError = max(t.maxPredError, s.MaxPredictionError)
		t.maxCorrection = max(t.maxCorrection, s.MaxCorrection)
		t.frames += s.Frames
		t.emptyBuffer += s.EmptyBuffer
		t.correctionsOver1u += s.CorrectionsOver1u
		t.interpDelay.Add(&s.InterpDelay)
		t.hitscanShots += b.shots(&s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.refused += r.dialRefused
	rep := buildReport(r.cfg, elapsed, t, len(r.matchIDs), acks, r.errs, r.errSample)
	for code, n := range r.closeCodes {
		rep.CloseCodes[strconv.Itoa(int(code))] = n
	}
	rep.StartedAt = r.start.UTC().Format(time.RFC3339)
	rep.Series = append(rep.Series, r.series...)
	return rep
}

// refuse records a dial the server refused for want of room (503).
func (r *runner) refuse() {
	r.mu.Lock()
	r.dialRefused++
	r.mu.Unlock()
}

// fail records an error of bot id.
func (r *runner) fail(id int, err error) {
	msg := fmt.Sprintf("bot-%d: %v", id, err)
	r.mu.Lock()
	r.errs++
	sample := len(r.errSample) < maxErrorSamples
	if sample {
		r.errSample = append(r.errSample, msg)
	}
	r.mu.Unlock()
	if sample { // don't flood the log when hundreds of bots fail alike
		r.log.Error("bot error", "bot", id, "err", err)
	}
}

func (r *runner) seated(matchID string) {
	r.mu.Lock()
	r.matchIDs[matchID] = struct{}{}
	r.mu.Unlock()
}
