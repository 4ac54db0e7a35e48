package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Options configures a Server. Every field has a default, applied by
// withDefaults; RegisterFlags binds them to command-line flags.
type Options struct {
	// Addr is the listen address; default 127.0.0.1:8080 (env SKIRMISH_ADDR).
	Addr string
	// TickRate is the match tick rate in Hz, 1 to 128; default 30.
	TickRate int
	// FillTimeout is how long a new match waits for players; default 3 s.
	FillTimeout time.Duration
	// AllowedOrigins are the Origins allowed on /ws besides the server's own
	// host and localhost; "*" allows any.
	AllowedOrigins []string
	// PingInterval is how often the server pings each client; default 10 s.
	PingInterval time.Duration
	// IdleTimeout drops a peer that sent nothing for this long; default 30 s.
	IdleTimeout time.Duration
	// RateLimit is the sustained messages per second a connection may send;
	// default 2 × TickRate.
	RateLimit float64
	// RateBurst is the token bucket's size; default 10.
	RateBurst int
	// CongestedTimeout disconnects a client whose snapshots could not be
	// sent for this long (it stopped reading); default 5 s.
	CongestedTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown; default 5 s.
	ShutdownTimeout time.Duration
	// ArenaPlayers, ArenaNPCs and ArenaSize size the arena mode; defaults
	// 8, 64 and a world that keeps the classic density (2000 for 72
	// entities).
	ArenaPlayers int
	ArenaNPCs    int
	ArenaSize    float64
	// InterestRadius overrides each mode's view radius R (arena: 500).
	InterestRadius float64
	// FullSnapshots sends every player the whole match every tick instead
	// of diffs of their view (the foundation's snapshots, for comparison).
	FullSnapshots bool
	// ArenaDuration is the length of an arena match; default 3 min.
	ArenaDuration time.Duration
	// SessionTTL is how long an unused session lives; default 24 h.
	SessionTTL time.Duration
	// SeatGrace is how long a disconnected player's seat is held; default
	// 30 s.
	SeatGrace time.Duration
	// Redis is the address of the Redis that records sessions (comma-
	// separated for a Cluster or Sentinel; env REDIS_ADDR); empty: an
	// in-process store.
	Redis string
	// RedisMaster is the Sentinel master name, if Redis names Sentinels.
	RedisMaster string
	// NodeID names this server in session records; default random.
	NodeID string
	// DebugAddr, if set, serves net/http/pprof there (keep it private).
	DebugAddr string
	// LogLevel is debug, info, warn or error; default info.
	LogLevel string
	// Logger overrides the logger built from LogLevel (for tests).
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	switch {
	case o.TickRate < 1 || o.TickRate > 128:
		return fmt.Errorf("tick rate %d: must be 1 to 128", o.TickRate)
	case o.RateLimit <= 0 || o.RateBurst < 1:
		return errors.New("rate limit and burst must be positive")
	case o.ArenaPlayers < 1 || o.ArenaNPCs < -1 || o.ArenaSize < 0 || o.InterestRadius < 0:
		return errors.New("arena size must be positive")
	case o.PingInterval <= 0 || o.IdleTimeout <= o.PingInterval:
		return errors.New("idle timeout must exceed the ping interval")
	}
	return nil
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	setDefault(&o.Addr, "127.0.0.1:8080")
	setDefault(&o.TickRate, 30)
	setDefault(&o.FillTimeout, 3*time.Second)
	setDefault(&o.PingInterval, 10*time.Second)
	setDefault(&o.IdleTimeout, 30*time.Second)
	setDefault(&o.RateLimit, float64(2*o.TickRate))
	setDefault(&o.RateBurst, 10)
	setDefault(&o.ShutdownTimeout, 5*time.Second)
	setDefault(&o.CongestedTimeout, 5*time.Second)
	setDefault(&o.ArenaPlayers, 8)
	setDefault(&o.ArenaNPCs, 64)
	setDefault(&o.ArenaDuration, 3*time.Minute)
	setDefault(&o.SessionTTL, 24*time.Hour)
	setDefault(&o.SeatGrace, 30*time.Second)
	setDefault(&o.LogLevel, "info")
	return o
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// RegisterFlags binds o's fields to flags of fs, with the defaults shown in
// -h. Environment variables (SKIRMISH_ADDR) are read as flag defaults.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	d := Options{}.withDefaults()
	addr := d.Addr
	if v := os.Getenv("SKIRMISH_ADDR"); v != "" {
		addr = v
	}
	fs.StringVar(&o.Addr, "addr", addr, "listen address (env SKIRMISH_ADDR)")
	fs.IntVar(&o.TickRate, "tick-rate", d.TickRate, "match tick rate in Hz, 1 to 128")
	fs.DurationVar(&o.FillTimeout, "fill-timeout", d.FillTimeout, "how long a new match waits for players before it starts")
	fs.Func("origins", "comma-separated extra Origins allowed on /ws (the server's own host and localhost always are; * allows any)", func(s string) error {
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				o.AllowedOrigins = append(o.AllowedOrigins, v)
			}
		}
		return nil
	})
	fs.DurationVar(&o.PingInterval, "ping-interval", d.PingInterval, "how often the server pings each client")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", d.IdleTimeout, "drop a client that sent nothing (pong included) for this long")
	fs.Float64Var(&o.RateLimit, "rate-limit", 0, "messages per second a connection may send (default 2 × tick rate)")
	fs.IntVar(&o.RateBurst, "rate-burst", d.RateBurst, "burst size of the per-connection rate limit")
	fs.DurationVar(&o.CongestedTimeout, "congested-timeout", d.CongestedTimeout, "disconnect a client whose snapshots could not be sent for this long")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "time limit of a graceful shutdown")
	fs.IntVar(&o.ArenaPlayers, "arena-players", d.ArenaPlayers, "seats of an arena match")
	fs.IntVar(&o.ArenaNPCs, "arena-npcs", d.ArenaNPCs, "NPCs of an arena match (-1 for none)")
	fs.Float64Var(&o.ArenaSize, "arena-size", 0, "width and height of the arena world in units (default: 2000 for 72 entities, scaled to keep that density)")
	fs.Float64Var(&o.InterestRadius, "interest-radius", 0, "radius R of each player's view, overriding the mode's (arena: 500)")
	fs.BoolVar(&o.FullSnapshots, "full-snapshots", false, "send every player the whole match every tick instead of view diffs (for comparison)")
	fs.DurationVar(&o.ArenaDuration, "arena-duration", d.ArenaDuration, "length of an arena match")
	fs.DurationVar(&o.SessionTTL, "session-ttl", d.SessionTTL, "lifetime of an unused session (it slides with use)")
	fs.DurationVar(&o.SeatGrace, "seat-grace", d.SeatGrace, "how long a disconnected player's seat and avatar are held for them to reconnect")
	fs.StringVar(&o.Redis, "redis", os.Getenv("REDIS_ADDR"), "Redis address(es) recording sessions and leaderboards (env REDIS_ADDR); empty: in-process")
	fs.StringVar(&o.RedisMaster, "redis-master", "", "Sentinel master name, when -redis lists Sentinels")
	fs.StringVar(&o.NodeID, "node-id", "", "name of this server in session records (default: random)")
	fs.StringVar(&o.LogLevel, "log-level", d.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&o.DebugAddr, "debug-addr", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); empty: off")
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}
