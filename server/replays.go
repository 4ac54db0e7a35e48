package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"skirmish/game"
	"skirmish/match"
)

// replayStore keeps the matches' input logs (match.Recording): each in a
// file <dir>/<matchID>.skrl, written as a hidden temporary file and
// renamed when the match ends, and, when the server has Redis, also at
// skirmish:replay:{<matchID>} with the retention as TTL, so that any node
// of the fleet can serve it. A janitor deletes the files older than the
// retention, at start and then every retention/24 (at least a second, at
// most an hour).
type replayStore struct {
	dir       string // "": no files (Redis only, to serve)
	retention time.Duration
	rdb       redis.UniversalClient // nil: no Redis
	log       *slog.Logger

	stop     chan struct{}
	stopOnce sync.Once
	swept    chan struct{} // the janitor's first sweep is done
	done     chan struct{}
}

const (
	replaySuffix = ".skrl"
	tmpSuffix    = ".tmp"
	// maxMatchID bounds a match ID in a replay's URL and file name.
	maxMatchID = 128
)

func replayKey(id string) string { return "skirmish:replay:{" + id + "}" }

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
// none) and rdb (nil for none), and starts its janitor when it has a dir.
func newReplayStore(dir string, retention time.Duration, rdb redis.UniversalClient, log *slog.Logger) (*replayStore, error) {
	s := &replayStore{dir: dir, retention: retention, rdb: rdb, log: log,
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
		if err != nil || now.Sub(info.ModTime()) < s.retention {
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
	}
	return f, nil
}

// replayFile is one log being written: to its temporary file, and kept in
// memory for Redis.
type replayFile struct {
	s   *replayStore
	id  string
	f   *os.File
	buf bytes.Buffer
}

func (f *replayFile) Write(p []byte) error {
	if f.s.rdb != nil {
		f.buf.Write(p)
	}
	if f.f != nil {
		_, err := f.f.Write(p)
		return err
	}
	return nil
}

func (f *replayFile) Close(complete bool) error {
	var errs []error
	if f.f != nil {
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
	if f.s.rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, f.s.rdb.Set(ctx, replayKey(f.id), f.buf.Bytes(), f.s.retention).Err())
		cancel()
	}
	if !complete {
		f.s.log.Warn("replay log stored incomplete", "match", f.id)
	}
	return errors.Join(errs...)
}

func (f *replayFile) Abort() {
	if f.f != nil {
		_ = f.f.Close()
		_ = os.Remove(f.f.Name())
	}
}

var errNoReplay = errors.New("no replay")

// open returns the log of match id: its file if young enough, or else its
// Redis copy; errNoReplay if neither.
func (s *replayStore) open(ctx context.Context, id string) (*bytes.Reader, time.Time, error) {
	if s.dir != "" {
		b, err := os.ReadFile(filepath.Join(s.dir, id+replaySuffix))
		if err == nil {
			st, serr := os.Stat(filepath.Join(s.dir, id+replaySuffix))
			if serr == nil && time.Since(st.ModTime()) < s.retention {
				return bytes.NewReader(b), st.ModTime(), nil
			}
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
			return bytes.NewReader(b), time.Time{}, nil
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
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+replaySuffix+`"`)
	w.Header().Set("Cache-Control", "max-age=60")
	http.ServeContent(w, r, "", mod, body)
}
