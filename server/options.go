package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"skirmish/game"
	"skirmish/match"
)

// Options configures a Server. Every field has a default, applied once by
// EnsureDefaults and then checked by Validate; RegisterFlags binds them to
// command-line flags. The options a match or the lobby takes have their
// names and defaults (match.Config, match.LobbyConfig).
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
	// TickPhaseGroup is how many matches tick at the same instant
	// (match.Config.TickPhaseGroup): larger groups cost less CPU, smaller ones
	// spread the snapshots' bursts; default 8, -1: every match on its
	// own.
	TickPhaseGroup int
	// ShutdownTimeout bounds a graceful shutdown; default 5 s.
	ShutdownTimeout time.Duration
	// RewindMax bounds lag compensation (match.Config.RewindMax): shots
	// are tested against the world as their shooter saw it, at most this
	// far back; default 200 ms, at most 1 s; negative: no rewind (the
	// -rewind-max flag's 0).
	RewindMax time.Duration
	// ModeOpts set the modes' options, each "mode.option=value" (a later
	// one wins): game.Build applies them over every registered mode's
	// defaults. The -mode-opt flag appends to it.
	ModeOpts []string
	// FullSnapshots sends every player the whole match every tick instead
	// of diffs of their view (the foundation's snapshots, for comparison).
	FullSnapshots bool
	// SessionTTL is how long an unused session lives; default 24 h.
	SessionTTL time.Duration
	// SeatGrace is how long a disconnected player's seat is held; default
	// 30 s.
	SeatGrace time.Duration
	// MaxSpectators caps the spectators of each match; default 32, -1:
	// no spectators.
	MaxSpectators int
	// SpectateDelay is how far behind live spectators see a match;
	// default 2 s.
	SpectateDelay time.Duration
	// Redis is the address of the Redis that records sessions (comma-
	// separated for a Cluster or Sentinel; env REDIS_ADDR); empty: an
	// in-process store.
	Redis string
	// RedisMaster is the Sentinel master name, if Redis names Sentinels.
	RedisMaster string
	// NodeID names this server in session records and in the fleet;
	// default random.
	NodeID string
	// PublicURL is the base URL clients reach this node at, given to
	// players the fleet sends here (moved); default http://<listen
	// address>. It may have a path prefix that a proxy strips.
	PublicURL string
	// CheckpointInterval is how often, in a fleet, each match's state is
	// written to Redis; default 1 s.
	CheckpointInterval time.Duration
	// Record, if set, records each match's input log, served at GET
	// /v1/matches/{id}/replay: a directory where each is kept
	// (<matchID>.skrl), and also in Redis when Redis is set; or RecordRedis
	// ("redis"), in Redis only, without files (Redis must be set). Empty:
	// matches are not recorded.
	Record string
	// RecordRetention is how long a log is kept: older files are deleted
	// by a janitor, and Redis copies expire; default 24 h.
	RecordRetention time.Duration
	// RecordMaxBytes bounds a log's Redis copy, held in memory until its
	// match ends: a log that outgrows it is stored cut after its last
	// whole chunk that fits, without its end record. Files are not
	// bounded. Default 16 MiB.
	RecordMaxBytes int
	// DebugAddr, if set, serves net/http/pprof there (keep it private).
	DebugAddr string
	// MetricsAddr, if set, serves /metrics on this address only, instead
	// of on Addr (keep it private: bind it to loopback or a private
	// interface).
	MetricsAddr string

	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; default none (the client is the peer).
	TrustedProxies []netip.Prefix
	// SessionRate and SessionBurst limit POST /v1/sessions per client IP;
	// defaults 10/s with bursts of 50. Over it: 429 with Retry-After.
	SessionRate  float64
	SessionBurst int
	// MaxSessions caps the sessions of the in-process store; default
	// 100,000. When full: 503 sessions_full.
	MaxSessions int
	// MaxConnsPerIP caps the WebSocket connections of one client IP
	// (default 256: 429 over it); MaxConns those of the server (default
	// 10,000: 503 over it).
	MaxConnsPerIP int
	MaxConns      int
	// MaxPlayers caps the players of this node: a new player's WebSocket
	// (from the upgrade on, hello or not) past MaxPlayers open ones gets
	// 503 server_full; a player the node holds (connected, queued, or
	// seated and away) is always let back in. 0 (the default): no cap.
	MaxPlayers int
	// HelloTimeout closes a connection that sent no valid hello within it
	// with 4006; default 5 s.
	HelloTimeout time.Duration
	// HTTPReadTimeout, HTTPWriteTimeout and HTTPIdleTimeout bound the
	// reading of a request, the writing of a response and a keep-alive
	// connection's idle time on the HTTP routes (not on the WebSocket once
	// upgraded); defaults 10 s, 10 s, 60 s. MaxHeaderBytes caps a
	// request's header; default 16 KiB.
	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	HTTPIdleTimeout  time.Duration
	MaxHeaderBytes   int
	// RankedMinPlayers is how many distinct players must finish a match
	// for its result to count on the leaderboard; default 2.
	RankedMinPlayers int
	// LogLevel is debug, info, warn or error; default info.
	LogLevel string
	// Logger overrides the logger built from LogLevel (for tests).
	Logger *slog.Logger

	// loadWindow overrides the overload signal's window (for tests).
	loadWindow time.Duration
	// recordChunk overrides the size of the chunks a match hands its log's
	// writer (match.Recording.ChunkBytes; for tests).
	recordChunk int
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	switch {
	case o.TickRate < 1 || o.TickRate > 128:
		return fmt.Errorf("tick rate %d: must be 1 to 128", o.TickRate)
	case o.RateLimit <= 0 || o.RateBurst < 1:
		return errors.New("rate limit and burst must be positive")
	case o.PingInterval <= 0 || o.IdleTimeout <= o.PingInterval:
		return errors.New("idle timeout must exceed the ping interval")
	case o.SessionRate <= 0 || o.SessionBurst < 1 || o.MaxSessions < 1:
		return errors.New("session rate, burst and cap must be positive")
	case o.MaxConnsPerIP < 1 || o.MaxConns < 1 || o.HelloTimeout <= 0:
		return errors.New("connection caps and the hello timeout must be positive")
	case o.MaxPlayers < 0:
		return errors.New("max-players must be 0 (no cap) or positive")
	case o.HTTPReadTimeout <= 0 || o.HTTPWriteTimeout <= 0 || o.HTTPIdleTimeout <= 0 || o.MaxHeaderBytes < 1024:
		return errors.New("HTTP timeouts must be positive and the header cap at least 1 KiB")
	case o.RankedMinPlayers < 1:
		return errors.New("ranked-min-players must be at least 1")
	case o.RecordRetention < 0:
		return errors.New("record-retention must be positive")
	case o.RewindMax > match.MaxRewind:
		return fmt.Errorf("rewind-max %v: must be at most %v (0: no rewind)", o.RewindMax, match.MaxRewind)
	case o.MaxSpectators < -1:
		return errors.New("max-spectators must be -1 (none), 0 (the default) or positive")
	case o.SpectateDelay < 0 || o.SpectateDelay > time.Minute:
		return errors.New("spectate-delay must be positive and at most 1m")
	case o.RecordMaxBytes < 0:
		return errors.New("record-max-bytes must be positive")
	case o.Record == RecordRedis && o.Redis == "":
		return errors.New(`-record redis records to Redis only, and needs -redis (or REDIS_ADDR); to record to a directory named "redis", write -record ./redis`)
	}
	return nil
}

// EnsureDefaults sets every zero field of o to its default and returns o;
// a nil o is a new Options. New calls it, then Validate.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	setDefault(&o.Addr, "127.0.0.1:8080")
	setDefault(&o.TickRate, match.DefaultTickRate)
	setDefault(&o.FillTimeout, match.DefaultFillTimeout)
	setDefault(&o.PingInterval, 10*time.Second)
	setDefault(&o.IdleTimeout, 30*time.Second)
	setDefault(&o.RateLimit, float64(2*o.TickRate))
	setDefault(&o.RateBurst, 10)
	setDefault(&o.ShutdownTimeout, 5*time.Second)
	setDefault(&o.CongestedTimeout, match.DefaultCongestedTimeout)
	setDefault(&o.TickPhaseGroup, match.DefaultTickPhaseGroup)
	setDefault(&o.SessionTTL, 24*time.Hour)
	setDefault(&o.SeatGrace, match.DefaultSeatGrace)
	setDefault(&o.MaxSpectators, match.DefaultMaxSpectators)
	setDefault(&o.SpectateDelay, match.DefaultSpectateDelay)
	setDefault(&o.LogLevel, "info")
	setDefault(&o.SessionRate, 10)
	setDefault(&o.SessionBurst, 50)
	setDefault(&o.MaxSessions, 100_000)
	setDefault(&o.MaxConnsPerIP, 256)
	setDefault(&o.MaxConns, 10_000)
	setDefault(&o.HelloTimeout, 5*time.Second)
	setDefault(&o.HTTPReadTimeout, 10*time.Second)
	setDefault(&o.HTTPWriteTimeout, 10*time.Second)
	setDefault(&o.HTTPIdleTimeout, 60*time.Second)
	setDefault(&o.MaxHeaderBytes, 16<<10)
	setDefault(&o.RankedMinPlayers, 2)
	setDefault(&o.CheckpointInterval, time.Second)
	setDefault(&o.RecordRetention, 24*time.Hour)
	setDefault(&o.RewindMax, match.DefaultRewindMax)
	setDefault(&o.RecordMaxBytes, 16<<20)
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
	d := (&Options{}).EnsureDefaults()
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
	fs.IntVar(&o.TickPhaseGroup, "tick-phase-group", d.TickPhaseGroup, "matches that tick at the same instant (fewer wakeups, burstier sends); -1: each on its own")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "time limit of a graceful shutdown")
	o.RewindMax = d.RewindMax
	fs.Var(rewindFlag{&o.RewindMax}, "rewind-max", "lag compensation: shots are tested against the world as their shooter saw it, at most this `duration` back (1s at most); 0: no rewind")
	fs.Func("mode-opt", "set a mode's option, mode.option=value (repeatable; e.g. arena.players=100): see \"Mode options\" below", func(s string) error {
		if _, _, _, err := game.ParseSetting(s); err != nil {
			return err
		}
		o.ModeOpts = append(o.ModeOpts, s)
		return nil
	})
	// Deprecated aliases of -mode-opt, kept for one release.
	alias := func(name, opt, doc string) {
		fs.Func(name, "deprecated: use -mode-opt "+opt+"=… ("+doc+")", func(s string) error {
			for _, set := range aliasSettings(opt, s) {
				if _, _, _, err := game.ParseSetting(set); err != nil {
					return err
				}
				o.ModeOpts = append(o.ModeOpts, set)
			}
			return nil
		})
	}
	alias("arena-players", "arena.players", "seats of an arena match")
	alias("arena-npcs", "arena.npcs", "NPCs of an arena match")
	alias("arena-size", "arena.size", "width and height of the arena world")
	alias("arena-duration", "arena.duration", "length of an arena match")
	alias("interest-radius", "<mode>.interest-radius", "every mode's view radius R")
	fs.BoolVar(&o.FullSnapshots, "full-snapshots", false, "send every player the whole match every tick instead of view diffs (for comparison)")
	fs.DurationVar(&o.SessionTTL, "session-ttl", d.SessionTTL, "lifetime of an unused session (it slides with use)")
	fs.DurationVar(&o.SeatGrace, "seat-grace", d.SeatGrace, "how long a disconnected player's seat and avatar are held for them to reconnect")
	fs.IntVar(&o.MaxSpectators, "max-spectators", d.MaxSpectators, "spectators each match takes (-1: none)")
	fs.DurationVar(&o.SpectateDelay, "spectate-delay", d.SpectateDelay, "how far behind live spectators see a match, so they cannot feed live positions to a player (0: the default; there is no live spectating)")
	fs.StringVar(&o.Redis, "redis", os.Getenv("REDIS_ADDR"), "Redis address(es): sessions, leaderboards and the fleet of nodes sharing it (env REDIS_ADDR); empty: one node, in-process")
	fs.StringVar(&o.RedisMaster, "redis-master", "", "Sentinel master name, when -redis lists Sentinels")
	fs.StringVar(&o.NodeID, "node-id", "", "name of this node in the fleet and in session records (default: random)")
	fs.StringVar(&o.PublicURL, "public-url", "", "base URL clients reach this node at, sent to players moved here (default: http://<listen address>)")
	fs.DurationVar(&o.CheckpointInterval, "checkpoint-interval", d.CheckpointInterval, "with -redis: how often each match's checkpoint is written to Redis")
	fs.StringVar(&o.Record, "record", "", "record each match's input log, served at /v1/matches/{id}/replay: a directory (and also Redis, with -redis), or the word redis for Redis only, without files (needs -redis); empty: off")
	fs.DurationVar(&o.RecordRetention, "record-retention", d.RecordRetention, "how long recorded input logs are kept (older files are deleted; Redis copies expire)")
	fs.IntVar(&o.RecordMaxBytes, "record-max-bytes", d.RecordMaxBytes, "largest input log copied to Redis, in bytes (each is held in memory until its match ends); a larger one is stored cut after its last whole 16 KiB chunk that fits, without its end record; files are not bounded")
	fs.StringVar(&o.LogLevel, "log-level", d.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&o.DebugAddr, "debug-addr", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); empty: off")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve /metrics on this address only (e.g. 127.0.0.1:9090), not on -addr; empty: on -addr")
	fs.Func("trusted-proxies", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client IP (default: none; the client is the peer)", func(s string) error {
		ps, err := parsePrefixes(s)
		o.TrustedProxies = append(o.TrustedProxies, ps...)
		return err
	})
	fs.Float64Var(&o.SessionRate, "session-rate", d.SessionRate, "POST /v1/sessions allowed per second per client IP (over it: 429 with Retry-After)")
	fs.IntVar(&o.SessionBurst, "session-burst", d.SessionBurst, "burst of POST /v1/sessions per client IP")
	fs.IntVar(&o.MaxSessions, "max-sessions", d.MaxSessions, "most sessions of the in-process store (without -redis); when full: 503")
	fs.IntVar(&o.MaxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "most WebSocket connections of one client IP (IPv6: one /64); over it the upgrade gets 429")
	fs.IntVar(&o.MaxConns, "max-conns", d.MaxConns, "most WebSocket connections of the server; over it the upgrade gets 503")
	fs.IntVar(&o.MaxPlayers, "max-players", 0, "most players of this node: a new player's WebSocket past this many open ones gets 503 server_full (players seated here always get back in); 0: no cap")
	fs.DurationVar(&o.HelloTimeout, "hello-timeout", d.HelloTimeout, "close a connection that sent no valid hello within this (close code 4006)")
	fs.DurationVar(&o.HTTPReadTimeout, "http-read-timeout", d.HTTPReadTimeout, "time to read a whole HTTP request, body included (not the WebSocket)")
	fs.DurationVar(&o.HTTPWriteTimeout, "http-write-timeout", d.HTTPWriteTimeout, "time to write an HTTP response (not the WebSocket)")
	fs.DurationVar(&o.HTTPIdleTimeout, "http-idle-timeout", d.HTTPIdleTimeout, "close an idle HTTP keep-alive connection after this")
	fs.IntVar(&o.MaxHeaderBytes, "max-header-bytes", d.MaxHeaderBytes, "largest HTTP request header, in bytes")
	fs.IntVar(&o.RankedMinPlayers, "ranked-min-players", d.RankedMinPlayers, "distinct players who must finish a match for it to count on the leaderboard")
}

// rewindFlag is -rewind-max: a duration from 0 (no rewind, which Options
// holds as -1) to match.MaxRewind.
type rewindFlag struct{ d *time.Duration }

func (f rewindFlag) String() string {
	if f.d == nil {
		return ""
	}
	return max(*f.d, 0).String()
}

func (f rewindFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return err
	case d < 0 || d > match.MaxRewind:
		return fmt.Errorf("%v: must be 0 (no rewind) to %v", d, match.MaxRewind)
	case d == 0:
		d = -1
	}
	*f.d = d
	return nil
}

// aliasSettings maps the value of a deprecated flag that sets option opt
// ("arena.players") to -mode-opt settings; "<mode>.x" sets option x of
// every registered mode that has one.
func aliasSettings(opt, value string) []string {
	x, ok := strings.CutPrefix(opt, "<mode>.")
	if !ok {
		return []string{opt + "=" + value}
	}
	var out []string
	for _, d := range game.Modes() {
		if _, has := d.Option(x); has {
			out = append(out, d.Name+"."+x+"="+value)
		}
	}
	return out
}

// PrintModeOptions writes every registered mode's options, with their
// defaults and docs, for -h.
func PrintModeOptions(w io.Writer) {
	fmt.Fprintf(w, "\nMode options (-mode-opt mode.option=value):\n")
	for _, d := range game.Modes() {
		fmt.Fprintf(w, "\n  %s: %s\n", d.Name, d.Doc)
		for _, o := range d.Options {
			fmt.Fprintf(w, "    %s.%s=%s\n    \t%s (%s", d.Name, o.Name, game.FormatValue(o.Default), o.Doc, o.Type())
			if r := o.Range(); r != "" {
				fmt.Fprintf(w, ", %s", r)
			}
			fmt.Fprintf(w, ")\n")
		}
	}
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
