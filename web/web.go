// Package web owns the browser client: its static files (static/: the page,
// its ES modules, the vendored msgpack bundle and, once built, the
// WebAssembly predictor in static/wasm/), embedded in the binary, and the
// HTTP handler that serves them compressed. The predictor's Go source is
// web/predict; `make wasm` (a step of `make build`) compiles it into
// static/wasm/predict.wasm and copies the Go toolchain's wasm_exec.js
// beside it. Without that step everything still compiles and the page
// says that it predicts in JavaScript.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// static/wasm holds a committed README.md, so the pattern always matches
// files whether or not predict.wasm and wasm_exec.js were generated.
//
//go:embed static
var static embed.FS

// PredictorPath is where the page loads the WebAssembly predictor from.
const PredictorPath = "wasm/predict.wasm"

// Files returns the browser client's static files (index.html at the root).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// HasPredictor reports whether the WebAssembly predictor was built into
// the binary (`make wasm`).
func HasPredictor() bool {
	_, err := fs.Stat(Files(), PredictorPath)
	return err == nil
}

// Handler serves the files of fsys (Files() for the page): "/" is
// index.html, a directory or a missing file is 404. Each answer has its
// Content-Type (application/wasm, text/javascript…), an ETag, and
// "Cache-Control: no-cache" (a reload revalidates, and a 304 costs nothing).
// A client that accepts gzip gets the file gzip-compressed (Content-Encoding:
// gzip) unless compression would not make it smaller; the compressed copy is
// made once per file, on its first request.
func Handler(fsys fs.FS) http.Handler {
	return &handler{fsys: fsys, files: map[string]*file{}}
}

type handler struct {
	fsys  fs.FS
	mu    sync.Mutex
	files map[string]*file
}

// file is one served file, loaded (and compressed) once.
type file struct {
	once  sync.Once
	ok    bool
	ctype string
	etag  string
	raw   []byte
	gz    []byte // nil when gzip does not pay
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	f := h.file(name)
	if !f.ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Add("Vary", "Accept-Encoding")
	body, etag := f.raw, f.etag
	if f.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body, etag = f.gz, f.etag[:len(f.etag)-1]+`-gz"`
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// file returns name's entry, loading it on first use. Names that are not
// files of fsys are not kept (a scan of random paths grows nothing).
func (h *handler) file(name string) *file {
	h.mu.Lock()
	f := h.files[name]
	h.mu.Unlock()
	if f == nil {
		if st, err := fs.Stat(h.fsys, name); err != nil || !st.Mode().IsRegular() {
			return &file{}
		}
		h.mu.Lock()
		if f = h.files[name]; f == nil {
			f = &file{}
			h.files[name] = f
		}
		h.mu.Unlock()
	}
	// Every caller waits for the first load (a concurrent request must not
	// see the entry half made).
	f.once.Do(func() { f.load(h.fsys, name) })
	return f
}

func (f *file) load(fsys fs.FS, name string) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return
	}
	f.raw = raw
	f.ctype = contentType(name, raw)
	sum := sha256.Sum256(raw)
	f.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(raw)
	if zw.Close() == nil && b.Len() < len(raw) {
		f.gz = b.Bytes()
	}
	f.ok = true
}

// contentType is name's type by extension (with the types a browser is
// strict about set here, whatever the system's MIME tables say), else
// sniffed.
func contentType(name string, raw []byte) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm" // required by WebAssembly.instantiateStreaming
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8" // required for ES modules
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".md":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return http.DetectContentType(raw)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed with a q-value above 0, or "*").
func acceptsGzip(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(h, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "*" {
				continue
			}
			q := strings.ReplaceAll(strings.ToLower(params), " ", "")
			if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				return false
			}
			return true
		}
	}
	return false
}
