package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"skirmish/client"
)

// The sampler: once a second it records a Sample of the run (acks, bytes,
// connections, running totals) and prints it as a progress line.

// newAcks returns the ack samples recorded since its last call.
func (b *bot) newAcks(dst []time.Duration) []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst = append(dst, b.acks[b.acked:]...)
	b.acked = len(b.acks)
	return dst
}

// Sample is one second of a run, as the sampler saw it at T.
type Sample struct {
	T float64 `json:"t"` // seconds since the start
	// AckP50MS and AckP99MS are of the acks of this second; 0 when
	// Acks is 0.
	AckP50MS float64 `json:"ack_p50_ms"`
	AckP99MS float64 `json:"ack_p99_ms"`
	Acks     int     `json:"acks"`
	// DownBytesPerBot and UpBytesPerBot are the bytes of this second per
	// connected bot.
	DownBytesPerBot float64 `json:"down_bytes_per_bot_s"`
	UpBytesPerBot   float64 `json:"up_bytes_per_bot_s"`
	SnapshotsPerBot float64 `json:"snapshots_per_bot_s"`
	// Connected bots have a live connection; Reconnecting ones are getting
	// one back; Playing ones are seated in a match.
	Connected    int `json:"connected"`
	Reconnecting int `json:"reconnecting"`
	Playing      int `json:"playing"`
	// Disconnects, Reconnects, Resumed, Moved and Migrated are running
	// totals.
	Disconnects int `json:"disconnects"`
	Reconnects  int `json:"reconnects"`
	Resumed     int `json:"resumed"`
	Moved       int `json:"moved"`
	Migrated    int `json:"migrated"`
	Matches     int `json:"matches"`
	Errors      int `json:"errors"`
}

// sampleLoop records a Sample every second, and prints it as a progress
// line if cfg.Progress is set, until ctx ends.
func (r *runner) sampleLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last counters
	last.at = r.start
	var acks []time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if ctx.Err() != nil { // the bots are leaving: nothing to tell
				return
			}
			var s Sample
			s, last, acks = r.sample(now, last, acks[:0])
			r.mu.Lock()
			r.series = append(r.series, s)
			r.mu.Unlock()
			if r.cfg.Progress != nil {
				fmt.Fprintf(r.cfg.Progress, "t=%.0fs bots=%d playing=%d matches=%d snaps/s/bot=%.1f down=%.1fKB/s/bot up=%.2fKB/s/bot ack p50=%.1fms p99=%.1fms drops=%d resumed=%d moved=%d migrated=%d rejected=%d errors=%d\n",
					s.T, s.Connected, s.Playing, s.Matches, s.SnapshotsPerBot,
					s.DownBytesPerBot/1024, s.UpBytesPerBot/1024, s.AckP50MS, s.AckP99MS,
					s.Disconnects, s.Resumed, s.Moved, s.Migrated, last.rejected, s.Errors)
			}
		}
	}
}

// counters are the running totals a sample is the difference of.
type counters struct {
	at                 time.Time
	snapshots          int
	rejected           int
	bytesDown, bytesUp int64
}

// sample sums the bots' counters at now; last are those of the previous
// sample, acks a buffer for the acks of the second.
func (r *runner) sample(now time.Time, last counters, acks []time.Duration) (Sample, counters, []time.Duration) {
	s := Sample{T: round3(now.Sub(r.start).Seconds()), Playing: int(r.playing.Load())}
	cur := counters{at: now}
	for _, b := range r.bots {
		acks = b.newAcks(acks)
		c := b.client.Load()
		if c == nil {
			continue
		}
		switch c.Phase() {
		case client.PhaseClosed:
		case client.PhaseReconnecting:
			s.Reconnecting++
		default:
			s.Connected++
		}
		st := c.Stats()
		cur.snapshots += st.Snapshots
		cur.rejected += st.Rejected
		cur.bytesDown += st.BytesDown
		cur.bytesUp += st.BytesUp
		s.Disconnects += st.Disconnects
		s.Reconnects += st.Reconnects
		s.Resumed += st.Resumed
		s.Moved += st.Moved
		s.Migrated += st.Migrated
	}
	per := now.Sub(last.at).Seconds() * float64(max(s.Connected, 1))
	s.SnapshotsPerBot = round3(float64(cur.snapshots-last.snapshots) / per)
	s.DownBytesPerBot = round3(float64(cur.bytesDown-last.bytesDown) / per)
	s.UpBytesPerBot = round3(float64(cur.bytesUp-last.bytesUp) / per)
	slices.Sort(acks)
	s.Acks = len(acks)
	s.AckP50MS = round3(ms(Percentile(acks, 50)))
	s.AckP99MS = round3(ms(Percentile(acks, 99)))
	r.mu.Lock()
	s.Matches, s.Errors = len(r.matchIDs), r.errs
	r.mu.Unlock()
	return s, cur, acks
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
