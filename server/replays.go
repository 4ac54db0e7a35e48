package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/game"
	"skirmish/match"
)

// replayStore keeps the matches' input logs (match.Recording): each in a
// file <dir>/<matchID>.skrl, written as a hidden temporary file and
// renamed when the match ends, and, when the server has Redis, also at
// skirmish:replay:{<matchID>} with the retention as TTL, so that any node
// of the fleet can serve it. Without a dir (-record redis) the logs are
// in Redis only. The Redis copy is held in memory until its match ends,
// up to maxBytes (replayFile.Write). A janitor deletes the files older
// than the retention, at start and then every retention/24 (at least a
// second, at most an hour).
type replayStore struct {
	dir       string // "": no files (Redis only)
	retention time.Duration
	maxBytes  int                   // bound of a log's Redis copy
	rdb       redis.UniversalClient // nil: no Redis
	log       *slog.Logger

	stop     chan struct{}
	stopOnce sync.Once
	// writing holds the names of the temporary files of logs still being
	// written (their matches run): the janitor leaves them alone, however
	// long ago their last chunk was.
	writingMu sync.Mutex
	writing   map[string]bool
	swept     chan struct{} // the janitor's first sweep is done
	done      chan struct{}
}

const (
	replaySuffix = ".skrl"
	tmpSuffix    = ".tmp"
	// maxMatchID bounds a match ID in a replay's URL and file name.
	maxMatchID = 128
)

// RecordRedis, as Options.Record (-record redis), records the logs in
// Redis only, without files.
const RecordRedis = "redis"

func replayKey(id string) string { return "skirmish:replay:{" + id + "}" }

var replayLogsCut atomic.Uint64

// ReplayLogsCut counts the logs whose Redis copy was cut because it
// outgrew Options.RecordMaxBytes.
func ReplayLogsCut() uint64 { return replayLogsCut.Load() }

// validMatchID reports an ID that can name a replay: 1 to 128 letters,
// digits, '-', '_' and '.', not starting with '.' (so no path, no hidden
// or temporary file).
func validMatchID(id string) bool {
	if id == "" || len(id) > maxMatchID || id[0] == '.' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// newReplayStore returns the store of dir (created if missing; "" for
// none) and rdb (nil for none), whose Redis copies hold at most maxBytes,
// and starts its janitor when it has a dir.
func newReplayStore(dir string, retention time.Duration, maxBytes int, rdb redis.UniversalClient, log *slog.Logger) (*replayStore, error) {
	s := &replayStore{dir: dir, retention: retention, maxBytes: maxBytes, rdb: rdb, log: log,
		stop: make(chan struct{}), swept: make(chan struct{}), done: make(chan struct{})}
	if dir == "" {
		close(s.swept)
		close(s.done)
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	go s.janitor(min(max(retention/24, time.Second), time.Hour))
	return s, nil
}

// recording returns the match.Recording of the store, with each built
// mode's every option as the log's header records it.
func (s *replayStore) recording(built []game.Built) *match.Recording {
	settings := map[string][]string{}
	for _, b := range built {
		var set []string
		for _, o := range b.Def.Options {
			set = append(set, o.Name+"="+b.Values.Text(o.Name))
		}
		settings[b.Def.Name] = set
	}
	return &match.Recording{Store: s, Settings: settings}
}

// close stops the janitor.
func (s *replayStore) close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

func (s *replayStore) janitor(every time.Duration) {
	defer close(s.done)
	s.sweep(time.Now())
	close(s.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep deletes the logs (and temporary files left by a crash) last
// written before now minus the retention.
func (s *replayStore) sweep(now time.Time) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		s.log.Error("replay janitor", "err", err)
		return
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, replaySuffix) && !strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < s.retention || s.isWriting(name) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
			n++
		}
	}
	if n > 0 {
		s.log.Info("replay janitor deleted old logs", "files", n)
	}
}

// Create implements match.LogStore; it runs on the log's writer goroutine.
func (s *replayStore) Create(id string) (match.LogFile, error) {
	if !validMatchID(id) {
		return nil, fmt.Errorf("replay log: match id %q cannot name a file", id)
	}
	f := &replayFile{s: s, id: id}
	if s.dir != "" {
		var err error
		if f.f, err = os.CreateTemp(s.dir, "."+id+".*"+tmpSuffix); err != nil {
			return nil, err
		}
		s.setWriting(filepath.Base(f.f.Name()), true)
	}
	return f, nil
}

// replayFile is one log being written: to its temporary file, and kept in
// memory for Redis.
type replayFile struct {
	s   *replayStore
	id  string
	f   *os.File
	mem []byte // the Redis copy: at most s.maxBytes
	cut bool   // a chunk did not fit in mem: the copy ends before it
}

// Write appends chunk p to the file, and to the Redis copy while it fits
// in s.maxBytes. A chunk is whole records ending at a tick's end or with
// the end record (match.LogFile), so the chunks before the first that
// does not fit are a valid log, without its end (match.ErrLogIncomplete),
// as when a match gives up a log whose writer is too slow.
func (f *replayFile) Write(p []byte) error {
	if f.s.rdb != nil && !f.cut {
		if n := len(f.mem) + len(p); n > f.s.maxBytes {
			f.cut = true
			replayLogsCut.Add(1)
			f.s.log.Warn("replay log cut for Redis: larger than -record-max-bytes", "match", f.id,
				"kept", len(f.mem), "max", f.s.maxBytes)
		} else {
			if n > cap(f.mem) {
				// Grow as append would, but never past the bound.
				f.mem = append(make([]byte, 0, min(max(2*cap(f.mem), n), f.s.maxBytes)), f.mem...)
			}
			f.mem = append(f.mem, p...)
		}
	}
	if f.f != nil {
		_, err := f.f.Write(p)
		return err
	}
	return nil
}

// isWriting reports whether name is the temporary file of a log being
// written; setWriting says it is, or no longer is.
func (s *replayStore) isWriting(name string) bool {
	s.writingMu.Lock()
	defer s.writingMu.Unlock()
	return s.writing[name]
}

func (s *replayStore) setWriting(name string, on bool) {
	s.writingMu.Lock()
	defer s.writingMu.Unlock()
	if !on {
		delete(s.writing, name)
		return
	}
	if s.writing == nil {
		s.writing = make(map[string]bool)
	}
	s.writing[name] = true
}

func (f *replayFile) Close(complete bool) error {
	var errs []error
	if f.f != nil {
		defer f.s.setWriting(filepath.Base(f.f.Name()), false)
		err := f.f.Chmod(0o644) // CreateTemp's is 0600
		if cerr := f.f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.f.Name(), filepath.Join(f.s.dir, f.id+replaySuffix))
		}
		if err != nil {
			_ = os.Remove(f.f.Name())
			errs = append(errs, err)
		}
	}
	switch {
	case f.s.rdb == nil:
	case len(f.mem) == 0:
		// Its first chunk (the header, and a checkpoint for an adopted
		// match) alone was larger than the bound.
		errs = append(errs, fmt.Errorf("replay log %s: not copied to Redis: its first chunk is larger than -record-max-bytes (%d)", f.id, f.s.maxBytes))
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, f.s.rdb.Set(ctx, replayKey(f.id), f.mem, f.s.retention).Err())
		cancel()
	}
	f.mem = nil
	if !complete {
		f.s.log.Warn("replay log stored incomplete", "match", f.id)
	}
	return errors.Join(errs...)
}

func (f *replayFile) Abort() {
	f.mem = nil
	if f.f != nil {
		_ = f.f.Close()
		_ = os.Remove(f.f.Name())
		f.s.setWriting(filepath.Base(f.f.Name()), false)
	}
}

var errNoReplay = errors.New("no replay")

// memLog is a Redis copy of a log, served from memory (it is at most
// -record-max-bytes).
type memLog struct{ *bytes.Reader }

func (memLog) Close() error { return nil }

// open returns the log of match id, for the caller to close: its file if
// young enough (read as it is served, never whole into memory), or else
// its Redis copy; errNoReplay if neither.
func (s *replayStore) open(ctx context.Context, id string) (io.ReadSeekCloser, time.Time, error) {
	if s.dir != "" {
		f, err := os.Open(filepath.Join(s.dir, id+replaySuffix))
		if err == nil {
			st, serr := f.Stat()
			if serr == nil && time.Since(st.ModTime()) < s.retention {
				return f, st.ModTime(), nil
			}
			_ = f.Close()
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, time.Time{}, err
		}
	}
	if s.rdb != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		b, err := s.rdb.Get(ctx, replayKey(id)).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, time.Time{}, err
		default:
			return memLog{bytes.NewReader(b)}, time.Time{}, nil
		}
	}
	return nil, time.Time{}, errNoReplay
}

// handleReplay serves GET /v1/matches/{id}/replay: the match's input log
// (docs/PROTOCOL.md, "Replay logs"), or 404 replay_not_found while the
// match runs, when it was not recorded, or after the retention.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validMatchID(id) {
		writeError(w, http.StatusBadRequest, "bad_match_id")
		return
	}
	if s.replays == nil {
		writeError(w, http.StatusNotFound, "replay_not_found")
		return
	}
	body, mod, err := s.replays.open(r.Context(), id)
	switch {
	case errors.Is(err, errNoReplay):
		writeError(w, http.StatusNotFound, "replay_not_found")
		return
	case err != nil:
		s.storeLogs.log(s.log, slog.LevelError, "replay store", "err", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable")
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+replaySuffix+`"`)
	w.Header().Set("Cache-Control", "max-age=60")
	http.ServeContent(w, r, "", mod, body)
}
