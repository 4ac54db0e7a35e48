package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// Config is what a run does; main fills it from the flags.
type Config struct {
	URL      string
	N        int
	Duration time.Duration
	Mode     string
	Behavior string
	Ramp     time.Duration
	Seed     uint64
	// ControlInterval is how often each bot updates its control; default
	// 100 ms.
	ControlInterval time.Duration
	// Progress receives a progress line every second; nil: none.
	Progress io.Writer
	// Logger logs errors; nil: slog.Default().
	Logger *slog.Logger
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("-url is empty")
	case c.N < 1:
		return fmt.Errorf("-n %d: need at least one bot", c.N)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case c.Mode == "":
		return errors.New("-mode is empty")
	case c.Ramp < 0:
		return fmt.Errorf("-ramp %v: must not be negative", c.Ramp)
	}
	_, err := NewBehavior(c.Behavior, rand.New(rand.NewPCG(0, 0)))
	return err
}

// ErrNoBots is returned by run when not a single bot could connect.
var ErrNoBots = errors.New("no bot could connect")

// bot is one simulated player.
type bot struct {
	id     int
	r      *runner
	client atomic.Pointer[client.Client] // set once Dial succeeds
	self   atomic.Uint32                 // own entity of the current match
	hits   atomic.Int64
	early  atomic.Bool // the connection closed before the end of the run
	// matchedAt is when the current match's matched message arrived (unix
	// ns); staleAcks counts acks of inputs sent before it (see onAck).
	matchedAt atomic.Int64
	staleAcks atomic.Int64

	ackMu sync.Mutex
	acks  []time.Duration
	acked int // acks[:acked] were seen by the progress reporter
}

// runner is the state shared by the bots of one run.
type runner struct {
	cfg  Config
	log  *slog.Logger
	bots []*bot

	mu         sync.Mutex
	matchIDs   map[string]struct{}
	errs       int
	errSample  []string
	closeCodes map[uint16]int // of early disconnects; 0: no close frame

	playing atomic.Int64
}

// run starts cfg.N bots over cfg.Ramp, lets them play until cfg.Duration has
// elapsed since the start or ctx is cancelled, closes them and returns the
// report. Its error is ErrNoBots if no bot connected, or a configuration
// error.
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
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(cfg.Duration))
	defer cancel()

	var wg sync.WaitGroup
	for i := range cfg.N {
		b := &bot{id: i, r: r}
		r.bots = append(r.bots, b)
		delay := time.Duration(0)
		if cfg.N > 1 {
			delay = cfg.Ramp * time.Duration(i) / time.Duration(cfg.N)
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		wg.Go(func() { b.run(ctx, start.Add(delay), rng) })
	}
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go func() {
			defer close(progressDone)
			r.progress(ctx, start)
		}()
	} else {
		close(progressDone)
	}
	wg.Wait()
	cancel() // every bot is done, even if early: so is the run
	<-progressDone
	elapsed := time.Since(start)
	rep := r.report(elapsed)
	if rep.Connected == 0 {
		return rep, ErrNoBots
	}
	return rep, nil
}

// report sums the bots' counters; every bot has finished.
func (r *runner) report(elapsed time.Duration) Report {
	var t totals
	var acks []time.Duration
	for _, b := range r.bots {
		b.ackMu.Lock() // a client's read goroutine may outlive its bot
		acks = append(acks, b.acks...)
		b.ackMu.Unlock()
		t.hits += int(b.hits.Load())
		t.staleAcks += int(b.staleAcks.Load())
		c := b.client.Load()
		if c == nil {
			continue
		}
		t.connected++
		if b.early.Load() {
			t.disconnects++
		}
		s := c.Stats()
		t.snapshots += s.Snapshots
		t.inputsSent += s.InputsSent
		t.rejected += s.Rejected
		t.protocolErrors += s.ProtocolErrors
		t.bytesDown += s.BytesDown
		t.bytesUp += s.BytesUp
		t.maxPredError = max(t.maxPredError, s.MaxPredictionError)
		t.maxCorrection = max(t.maxCorrection, s.MaxCorrection)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := buildReport(r.cfg, elapsed, t, len(r.matchIDs), acks, r.errs, r.errSample)
	for code, n := range r.closeCodes {
		rep.CloseCodes[strconv.Itoa(int(code))] = n
	}
	return rep
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

// run is one bot's life: wait for its start, dial, queue, play until ctx
// ends or the connection closes.
func (b *bot) run(ctx context.Context, at time.Time, rng *rand.Rand) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(at)):
	}
	cfg := &b.r.cfg
	c, err := client.Dial(ctx, cfg.URL, client.Options{
		Name:      fmt.Sprintf("bot-%d", b.id),
		Requeue:   true,
		OnAck:     b.onAck,
		OnMessage: b.onMessage,
	})
	if err != nil {
		if ctx.Err() == nil { // not a dial cut short by the end of the run
			b.r.fail(b.id, fmt.Errorf("dial: %w", err))
		}
		return
	}
	b.client.Store(c)
	defer c.Close()
	c.Queue(cfg.Mode)

	beh, _ := NewBehavior(cfg.Behavior, rng) // validated by run
	// Spread the bots' control updates over the interval.
	phase := time.Duration(rng.Int64N(int64(cfg.ControlInterval)))
	select {
	case <-ctx.Done():
		return
	case <-c.Done():
		b.closedEarly(ctx, c)
		return
	case <-time.After(phase):
	}
	t := time.NewTicker(cfg.ControlInterval)
	defer t.Stop()
	wasPlaying := false
	defer func() {
		if wasPlaying {
			b.r.playing.Add(-1)
		}
	}()
	for {
		v := c.View()
		playing := v.Phase == client.PhasePlaying
		if playing != wasPlaying {
			if playing {
				b.r.playing.Add(1)
			} else {
				b.r.playing.Add(-1)
			}
			wasPlaying = playing
		}
		c.SetControl(beh.Control(time.Now(), &v))
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			b.closedEarly(ctx, c)
			return
		case <-t.C:
		}
	}
}

func (b *bot) closedEarly(ctx context.Context, c *client.Client) {
	if ctx.Err() != nil {
		return
	}
	b.early.Store(true)
	code := c.Stats().CloseCode
	b.r.mu.Lock()
	b.r.closeCodes[code]++
	first := b.r.closeCodes[code] == 1
	b.r.mu.Unlock()
	if first { // once per close code: hundreds of bots usually go alike
		b.r.log.Warn("bot disconnected", "bot", b.id, "close_code", code)
	}
}

// onAck runs on the client's read goroutine with the client's lock held: it
// must not call the client.
//
// An input sent before the current match was seated cannot be one of its
// inputs: such a sample would measure the time between matches, not
// latency, so it is dropped and counted apart (stale_acks, expected 0).
func (b *bot) onAck(d time.Duration) {
	if time.Now().Add(-d).UnixNano() < b.matchedAt.Load() {
		b.staleAcks.Add(1)
		return
	}
	b.ackMu.Lock()
	b.acks = append(b.acks, d)
	b.ackMu.Unlock()
}

// onMessage runs on the client's read goroutine.
func (b *bot) onMessage(m *netcode.ServerMsg) {
	switch m.Type {
	case netcode.MsgMatched:
		b.matchedAt.Store(time.Now().UnixNano())
		b.self.Store(m.Matched.Entity)
		b.r.seated(m.Matched.MatchID)
	case netcode.MsgSnapshot:
		self := b.self.Load()
		for _, e := range m.Snapshot.Events {
			if e.Type == netcode.EventHit && e.A == self {
				b.hits.Add(1)
			}
		}
	case netcode.MsgError:
		b.r.fail(b.id, fmt.Errorf("server error %d %s", m.ErrCode, m.ErrText))
	}
}

// newAcks returns the ack samples recorded since its last call.
func (b *bot) newAcks(dst []time.Duration) []time.Duration {
	b.ackMu.Lock()
	defer b.ackMu.Unlock()
	dst = append(dst, b.acks[b.acked:]...)
	b.acked = len(b.acks)
	return dst
}

// progress prints a line every second until ctx ends.
func (r *runner) progress(ctx context.Context, start time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last struct {
		at                 time.Time
		snapshots          int
		bytesDown, bytesUp int64
	}
	last.at = start
	var acks []time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if ctx.Err() != nil { // the bots are closing: nothing to tell
				return
			}
			connected, snapshots, rejected := 0, 0, 0
			var down, up int64
			acks = acks[:0]
			for _, b := range r.bots {
				acks = b.newAcks(acks)
				c := b.client.Load()
				if c == nil {
					continue
				}
				select {
				case <-c.Done():
				default:
					connected++
				}
				s := c.Stats()
				snapshots += s.Snapshots
				rejected += s.Rejected
				down += s.BytesDown
				up += s.BytesUp
			}
			dt := now.Sub(last.at).Seconds()
			per := dt * float64(max(connected, 1))
			slices.Sort(acks)
			r.mu.Lock()
			matches, errs := len(r.matchIDs), r.errs
			r.mu.Unlock()
			fmt.Fprintf(r.cfg.Progress, "t=%.0fs bots=%d playing=%d matches=%d snaps/s/bot=%.1f down=%.1fKB/s/bot up=%.2fKB/s/bot ack p50=%.1fms p99=%.1fms rejected=%d errors=%d\n",
				now.Sub(start).Seconds(), connected, r.playing.Load(), matches,
				float64(snapshots-last.snapshots)/per,
				float64(down-last.bytesDown)/per/1024, float64(up-last.bytesUp)/per/1024,
				ms(Percentile(acks, 50)), ms(Percentile(acks, 99)), rejected, errs)
			last.at, last.snapshots, last.bytesDown, last.bytesUp = now, snapshots, down, up
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
