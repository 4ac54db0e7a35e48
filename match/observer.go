package match

import "time"

// Observer receives the measurements of matches and the lobby. Its methods
// are called from match goroutines and must not block.
type Observer interface {
	// TickDone reports the duration of one tick.
	TickDone(d time.Duration)
	// Overrun reports n ticks that started a whole tick late or more.
	Overrun(n int)
	// InputsApplied reports inputs applied and rejected during one tick.
	InputsApplied(applied, rejected int)
	// InputDropped reports an input that never reached its queue.
	InputDropped()
	// ViewSkipped reports a snapshot not sent to a congested player.
	ViewSkipped()
	// FramesSent reports the snapshots sent during one tick, and their
	// bytes (messages, without WebSocket framing).
	FramesSent(frames, bytes int)
	// MatchStarted and MatchEnded report the match lifecycle.
	MatchStarted(mode string)
	MatchEnded(mode string, outcome uint8)
}

// NopObserver is an Observer that records nothing.
type NopObserver struct{}

func (NopObserver) TickDone(time.Duration)   {}
func (NopObserver) Overrun(int)              {}
func (NopObserver) InputsApplied(int, int)   {}
func (NopObserver) InputDropped()            {}
func (NopObserver) ViewSkipped()             {}
func (NopObserver) FramesSent(int, int)      {}
func (NopObserver) MatchStarted(string)      {}
func (NopObserver) MatchEnded(string, uint8) {}
