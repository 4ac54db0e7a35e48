package server

import (
	"sync/atomic"
	"time"
)

// The overload signal. Every match tick reports its duration, and every
// late tick an overrun, through the Observer (metrics.TickDone, Overrun),
// which counts them in a few atomics: no lock, no allocation. Once a
// window (loadWindow, 1 s) the server's watcher takes the counts of the
// whole node, all matches together, and applies the rule:
//
//   - hot window: overruns (ticks that started a whole tick late, or were
//     skipped) more than 1% of the window's ticks, or more than 1% of the
//     ticks took more than half the tick budget (a tick p99 over 50% of
//     the budget);
//   - calm window: no overrun, and at most 1% of the ticks took more than
//     a quarter of the budget (a tick p99 within 25% of the budget, the
//     bar of make soak and make capacity); a window without ticks is calm.
//
// The node enters overload after hotWindows hot windows in a row (a blip,
// such as the process descheduled once on a busy host, is not an
// overload) and leaves it after calmWindows calm windows in a row
// (hysteresis). While overloaded it refuses newcomers'
// WebSockets (503 server_full) and takes no player into a match (error
// server_full: queue, a forming match about to start, the fleet's new and
// backfilled matches); players it holds (connected, queued, seated or away)
// keep their game and may reconnect.
const (
	loadWindow  = time.Second
	hotWindows  = 2
	calmWindows = 3
	// slowPerCent: a window is hot when more than this share of its ticks,
	// in per cent, overran or took over half the budget; calm when no more
	// than this share took over a quarter of it, and none overran.
	slowPerCent = 1
)

// Reasons for skirmish_refused_total{why}.
const (
	refusedOverload   = "overload"
	refusedMaxPlayers = "max_players"
)

// tickLoad counts the ticks of a window for the overload signal. tick and
// overrun are called from match goroutines; roll from one goroutine.
type tickLoad struct {
	quarter, half int64 // a quarter and half of the tick budget, ns; set before any match runs

	ticks, overQuarter, overHalf, overruns atomic.Int64
	on                                     atomic.Bool
	hot, calm                              int // hot and calm windows in a row (roll's goroutine)
}

// loadStats are the counts of one window.
type loadStats struct {
	ticks, overQuarter, overHalf, overruns int64
}

func newTickLoad(tickRate int) *tickLoad {
	l := &tickLoad{}
	l.setRate(tickRate)
	return l
}

// setRate sets the tick budget; only before any tick is counted.
func (l *tickLoad) setRate(tickRate int) {
	budget := int64(time.Second) / int64(tickRate)
	l.quarter, l.half = budget/4, budget/2
}

func (l *tickLoad) tick(d time.Duration) {
	l.ticks.Add(1)
	if int64(d) > l.quarter {
		l.overQuarter.Add(1)
		if int64(d) > l.half {
			l.overHalf.Add(1)
		}
	}
}

func (l *tickLoad) overrun(n int) { l.overruns.Add(int64(n)) }

// overloaded reports whether the node is overloaded now.
func (l *tickLoad) overloaded() bool { return l.on.Load() }

func (w loadStats) hot() bool {
	return w.overruns*100 > slowPerCent*w.ticks || w.overHalf*100 > slowPerCent*w.ticks
}

func (w loadStats) calm() bool {
	return w.overruns == 0 && w.overQuarter*100 <= slowPerCent*w.ticks
}

// roll ends a window: it takes its counts, applies the rule and reports
// them, and whether the node entered or left overload.
func (l *tickLoad) roll() (w loadStats, changed bool) {
	w = loadStats{ticks: l.ticks.Swap(0), overQuarter: l.overQuarter.Swap(0),
		overHalf: l.overHalf.Swap(0), overruns: l.overruns.Swap(0)}
	l.hot, l.calm = streak(l.hot, w.hot()), streak(l.calm, w.calm())
	switch on := l.on.Load(); {
	case !on && l.hot >= hotWindows:
		l.on.Store(true)
		changed = true
	case on && l.calm >= calmWindows:
		l.on.Store(false)
		changed = true
	}
	return w, changed
}

// streak returns the length of a run of windows after one more: n+1 if
// the window continues it, else 0.
func streak(n int, continues bool) int {
	if continues {
		return n + 1
	}
	return 0
}

// watchLoad rolls the load's window every period until quit closes,
// keeping skirmish_overloaded and logging each change.
func (s *Server) watchLoad(every time.Duration, quit, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		w, changed := s.metrics.load.roll()
		if !changed {
			continue
		}
		players, matches := s.lobby.Counts()
		args := []any{"window_s", every.Seconds(), "ticks", w.ticks, "over_quarter_budget", w.overQuarter,
			"over_half_budget", w.overHalf, "overruns", w.overruns, "players", players, "matches", matches}
		if s.metrics.load.overloaded() {
			s.metrics.overloaded.Set(1)
			s.log.Warn("overload: refusing new matches and newcomers (server_full)", args...)
		} else {
			s.metrics.overloaded.Set(0)
			s.log.Info("overload over: admitting again", args...)
		}
	}
}

// admitPlayers is the lobby's LobbyConfig.Admit: while the node is
// overloaded, no player is taken into a match.
func (s *Server) admitPlayers(n int) bool {
	if !s.metrics.load.overloaded() {
		return true
	}
	s.metrics.refused.WithLabelValues(refusedOverload).Add(float64(n))
	return false
}

// capacity is the most players this node takes: -max-players, or
// -max-conns.
func (s *Server) capacity() int {
	if p := s.opts.MaxPlayers; p > 0 && p < s.opts.MaxConns {
		return p
	}
	return s.opts.MaxConns
}

// full reports whether the node refuses newcomers now: overloaded, or
// holding its -max-players connections.
func (s *Server) full() bool {
	if s.metrics.load.overloaded() {
		return true
	}
	return s.opts.MaxPlayers > 0 && s.ips.held() >= s.opts.MaxPlayers
}

// held returns the WebSocket connections held.
func (t *ipTable) held() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns
}
