package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestReplayJanitor: the janitor deletes, at start, the logs and crash
// leftovers older than the retention and nothing else; a later sweep
// deletes what aged since; a log older than the retention is not served
// even before the janitor gets to it.
func TestReplayJanitor(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	files := map[string]bool{ // name → deleted at start
		"m-a-1.skrl":     true,
		".m-a-2.123.tmp": true,
		"m-a-3.skrl":     false,
		"notes.txt":      false,
		".m-a-4.456.tmp": false,
	}
	for name, isOld := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("SKRL"), 0o644); err != nil {
			t.Fatal(err)
		}
		if isOld || name == "notes.txt" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := newReplayStore(dir, time.Hour, 1<<20, nil, discardLog)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	<-st.swept
	for name, deleted := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := os.IsNotExist(err); gone != deleted {
			t.Errorf("%s: deleted %v, want %v", name, gone, deleted)
		}
	}
	if b, _, err := st.open(context.Background(), "m-a-3"); err != nil {
		t.Errorf("a fresh log: %v", err)
	} else {
		b.Close()
	}
	// m-a-3 ages past the retention: not served, then swept.
	p := filepath.Join(dir, "m-a-3.skrl")
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.open(context.Background(), "m-a-3"); err != errNoReplay {
		t.Errorf("an expired log: %v, want none", err)
	}
	st.sweep(time.Now())
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("m-a-3.skrl not swept: %v", err)
	}
	// The temporary file of a log still being written (a long match, idle
	// for longer than the retention) is left alone; it becomes the log.
	f, err := st.Create("m-a-5")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write([]byte("SKRL")); err != nil {
		t.Fatal(err)
	}
	tmp := f.(*replayFile).f.Name()
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	st.sweep(time.Now())
	if err := f.Close(true); err != nil {
		t.Fatalf("the log of a running match, after a sweep: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "m-a-5.skrl")); err != nil {
		t.Errorf("m-a-5.skrl: %v", err)
	}
}

// TestReplayStoreFileAndRedis: a log is written to a hidden temporary file
// and renamed at its end, copied to Redis with the retention as TTL; an
// aborted log leaves nothing; another node without files serves the Redis
// copy through GET /v1/matches/{id}/replay; unknown ids get 404, bad ones
// 400.
func TestReplayStoreFileAndRedis(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{testRedis(t)}})
	defer rdb.Close()
	id := "m-" + NewPlayerID()[2:10] + "-1"
	st, err := newReplayStore(dir, time.Hour, 1<<20, rdb, discardLog)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	f, err := st.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Write([]byte("SKRL"))
	_ = f.Write([]byte("-log"))
	if _, err := os.Stat(filepath.Join(dir, id+".skrl")); !os.IsNotExist(err) {
		t.Fatal("the log is in place before its end")
	}
	if err := f.Close(true); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, id+".skrl")); err != nil || string(b) != "SKRL-log" {
		t.Fatalf("file: %q %v", b, err)
	}
	if ttl := rdb.PTTL(ctx, replayKey(id)).Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("redis TTL %v, want the retention", ttl)
	}
	ab, _ := st.Create("m-x-2")
	_ = ab.Write([]byte("SKRL"))
	ab.Abort()
	if left, _ := filepath.Glob(filepath.Join(dir, "*m-x-2*")); len(left) != 0 {
		t.Errorf("an aborted log left %v", left)
	}
	if _, err := st.Create("../etc"); err == nil {
		t.Error("a match id with a path was accepted")
	}

	other, _ := newReplayStore("", time.Hour, 1<<20, rdb, discardLog) // another node
	s := &Server{replays: other, log: discardLog}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/matches/{id}/replay", s.handleReplay)
	for _, c := range []struct {
		id   string
		code int
		body string
	}{
		{id, 200, "SKRL-log"},
		{"m-x-2", 404, `{"error":"replay_not_found"}` + "\n"},
		{".." + id, 400, `{"error":"bad_match_id"}` + "\n"},
		{"a%20b", 400, `{"error":"bad_match_id"}` + "\n"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/matches/"+c.id+"/replay", nil))
		if rec.Code != c.code || rec.Body.String() != c.body {
			t.Errorf("GET %s: %d %q, want %d %q", c.id, rec.Code, rec.Body.String(), c.code, c.body)
		}
		if c.code == 200 && rec.Header().Get("Content-Type") != "application/octet-stream" {
			t.Errorf("content type %q", rec.Header().Get("Content-Type"))
		}
	}
}

// TestReplayFileMalformed: skirmish replay of a file that is not a log,
// of a header cut short, or of no file says so with an error.
func TestReplayFileMalformed(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"text":   "hello, world",
		"cut":    "SKRL\x01\x05m-abc",
		"future": "SKRL\x09",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := ReplayFile(p, &out); err == nil || !strings.Contains(err.Error(), "replay log") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := ReplayFile(filepath.Join(dir, "none"), io.Discard); err == nil {
		t.Error("a missing file replays")
	}
}

// TestReplayRedisCopyBound: the Redis copy of a log keeps the chunks
// before the first that would take it past the bound, its memory never
// exceeds the bound, and the cut is counted; a log whose first chunk
// alone is too large is not copied, and Close says so.
func TestReplayRedisCopyBound(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{testRedis(t)}})
	defer rdb.Close()
	st, _ := newReplayStore("", time.Hour, 10, rdb, discardLog)
	id := "m-" + NewPlayerID()[2:10] + "-1"
	lf, err := st.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	f := lf.(*replayFile)
	cut := ReplayLogsCut()
	for _, chunk := range []string{"SKRL", "-lo", "g-", "23", "4"} { // 9 bytes fit; "23" does not, nor "4" after it, though it would
		if err := f.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		if cap(f.mem) > 10 {
			t.Fatalf("%d bytes held for a bound of 10", cap(f.mem))
		}
	}
	if got := ReplayLogsCut() - cut; got != 1 {
		t.Errorf("%d cuts counted, want 1", got)
	}
	if err := f.Close(true); err != nil {
		t.Fatal(err)
	}
	if b, _ := rdb.Get(ctx, replayKey(id)).Result(); b != "SKRL-log-" {
		t.Errorf("redis copy %q, want %q", b, "SKRL-log-")
	}

	big, _ := st.Create(id + "0")
	_ = big.Write([]byte("SKRL-header-"))
	if err := big.Close(true); err == nil || !strings.Contains(err.Error(), "record-max-bytes") {
		t.Errorf("a log whose first chunk is over the bound: %v", err)
	}
	if n := rdb.Exists(ctx, replayKey(id+"0")).Val(); n != 0 {
		t.Error("a log whose first chunk is over the bound was copied")
	}
}
