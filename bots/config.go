package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
)

// The run's settings: Config, their validation and the list of nodes.

// Config is what a run does; main fills it from the flags.
type Config struct {
	// URL is the server's base URL, or a comma-separated list of the base
	// URLs of a fleet's nodes: bot i creates its session and makes its
	// first connection on node i mod n, and falls back to the others
	// (round robin) when its connection drops.
	URL      string
	N        int
	Duration time.Duration
	Mode     string
	Behavior string
	Ramp     time.Duration
	Seed     uint64
	// Chaos is the number of connections cut per bot per minute: each
	// minute Chaos×N connections of random playing bots are cut (as a
	// network failure would, without a close frame), evenly spread over the
	// minute, and the bots reconnect. 0: none.
	Chaos float64
	// DebugURL is the server's -debug-addr (net/http/pprof) as a base URL;
	// soak mode forces a GC there before each measure of the heap. Empty:
	// no forced GC.
	DebugURL string
	// Soak checks the server and the bots after the run (see soak.go).
	Soak bool
	// SourceAddrs is an IPv4 range (CIDR) that spreads the bots over source
	// addresses when the server is on the loopback: bot i connects from
	// the range's i-th address (see Config.sourceAddr), so that a server's
	// per-IP limits see each bot as a client of its own. "off" or empty:
	// the system's choice.
	SourceAddrs string
	// Latency and Jitter delay every frame of every bot, each way: by
	// Latency plus a value drawn uniformly from [-Jitter, +Jitter] (never
	// below 0), never reordering a connection's frames (client.Options).
	Latency, Jitter time.Duration
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
	case len(c.Nodes()) == 0:
		return errors.New("-url is empty")
	case c.Soak && len(c.Nodes()) > 1:
		return errors.New("-soak checks one server: give -url one node")
	case c.N < 1:
		return fmt.Errorf("-n %d: need at least one bot", c.N)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case c.Mode == "":
		return errors.New("-mode is empty")
	case c.Ramp < 0:
		return fmt.Errorf("-ramp %v: must not be negative", c.Ramp)
	case c.Chaos < 0 || math.IsNaN(c.Chaos) || math.IsInf(c.Chaos, 0):
		return fmt.Errorf("-chaos %v: must be 0 or more", c.Chaos)
	case c.Latency < 0:
		return fmt.Errorf("-latency %v: must not be negative", c.Latency)
	case c.Jitter < 0:
		return fmt.Errorf("-jitter %v: must not be negative", c.Jitter)
	}
	for _, n := range c.Nodes() {
		u, err := url.Parse(n)
		if err != nil {
			return fmt.Errorf("-url: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-url %q: not an http or https base URL", n)
		}
	}
	if _, err := parseSourceAddrs(c.SourceAddrs); err != nil {
		return err
	}
	_, err := NewBehavior(c.Behavior, rand.New(rand.NewPCG(0, 0)))
	return err
}

// Nodes returns the base URLs of -url's nodes, in order.
func (c *Config) Nodes() []string {
	var nodes []string
	for n := range strings.SplitSeq(c.URL, ",") {
		if n = strings.TrimSpace(n); n != "" {
			nodes = append(nodes, n)
		}
	}
	return nodes
}
