package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestHandler(t *testing.T) {
	wasm := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 some code "), 400)
	fsys := fstest.MapFS{
		"index.html":        {Data: []byte(strings.Repeat("<p>Skirmish</p>\n", 50))},
		"js/main.js":        {Data: []byte(strings.Repeat("export const x = 1;\n", 50))},
		"wasm/predict.wasm": {Data: wasm},
		"tiny.css":          {Data: []byte("a{}")},
	}
	h := Handler(fsys)
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}

	for _, c := range []struct{ path, ctype string }{
		{"/", "text/html; charset=utf-8"},
		{"/js/main.js", "text/javascript; charset=utf-8"},
		{"/wasm/predict.wasm", "application/wasm"},
	} {
		res := get(t, h, c.path, gz)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d %q %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(c.path, "/")
		if name == "" {
			name = "index.html"
		}
		if !bytes.Equal(body, fsys[name].Data) {
			t.Errorf("GET %s: the gzip body is not the file", c.path)
		}
		// Revalidation: the compressed copy's ETag answers 304.
		res2 := get(t, h, c.path, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": res.Header.Get("ETag")})
		if res2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", c.path, res2.StatusCode)
		}
	}

	// Without gzip (or with q=0): the file as is, under another ETag.
	for _, ae := range []string{"", "identity", "gzip;q=0"} {
		res := get(t, h, "/wasm/predict.wasm", map[string]string{"Accept-Encoding": ae})
		body, _ := io.ReadAll(res.Body)
		if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, wasm) {
			t.Errorf("Accept-Encoding %q: encoding %q, %d bytes", ae, res.Header.Get("Content-Encoding"), len(body))
		}
	}
	// A file gzip cannot shrink is sent as is.
	if res := get(t, h, "/tiny.css", gz); res.Header.Get("Content-Encoding") != "" || res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("tiny.css: %q %q", res.Header.Get("Content-Encoding"), res.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/nope.js", "/js", "/js/", "/../web.go"} {
		if res := get(t, h, p, gz); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

// TestConcurrentFirstRequests: requests racing for a file's first load all
// get it (none sees the entry before it is loaded).
func TestConcurrentFirstRequests(t *testing.T) {
	fsys := fstest.MapFS{"wasm/predict.wasm": {Data: bytes.Repeat([]byte("wasm "), 100000)}}
	for round := 0; round < 20; round++ {
		h := Handler(fsys)
		codes := make(chan int, 8)
		for i := 0; i < 8; i++ {
			go func() {
				codes <- get(t, h, "/wasm/predict.wasm", map[string]string{"Accept-Encoding": "gzip"}).StatusCode
			}()
		}
		for i := 0; i < 8; i++ {
			if c := <-codes; c != 200 {
				t.Fatalf("round %d: a concurrent first request got %d", round, c)
			}
		}
	}
}

// TestFiles: the embedded tree has the page and its modules, and static/wasm
// exists even before `make wasm`.
func TestFiles(t *testing.T) {
	for _, name := range []string{"index.html", "style.css", "js/main.js", "vendor/msgpack.min.js", "wasm/README.md"} {
		res := get(t, Handler(Files()), "/"+name, nil)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", name, res.StatusCode)
		}
	}
}
