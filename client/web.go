package client

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// Web returns the browser client's static files (index.html at the root),
// embedded in the binary.
func Web() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	return sub
}
