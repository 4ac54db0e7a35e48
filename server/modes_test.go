package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// parseFlags parses args into Options as the skirmish command does.
func parseFlags(args ...string) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("skirmish", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.RegisterFlags(fs)
	return o, fs.Parse(args)
}

// -mode-opt sets any mode's option; the deprecated arena flags and
// -interest-radius map onto it, in order; bad settings fail the parse with
// an error that says what is wrong.
func TestModeOptFlags(t *testing.T) {
	o, err := parseFlags("-mode-opt", "arena.players=100", "-arena-npcs", "5", "-interest-radius", "300",
		"-mode-opt", "tag.interest-radius=650", "-arena-duration", "45s", "-arena-size", "900")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arena.players=100", "arena.npcs=5", "arena.interest-radius=300", "tag.interest-radius=300",
		"tag.interest-radius=650", "arena.duration=45s", "arena.size=900"}
	if strings.Join(o.ModeOpts, " ") != strings.Join(want, " ") {
		t.Fatalf("ModeOpts %q, want %q", o.ModeOpts, want)
	}
	srv, _ := startServer(t, o)
	a, tag := srv.modes["arena"].Spec(), srv.modes["tag"].Spec()
	if a.MaxPlayers != 100 || a.Width != 900 || a.Duration != 45*time.Second || a.Interest.Radius != 300 || tag.Interest.Radius != 650 {
		t.Errorf("arena %+v\ntag %+v", a, tag)
	}
	for _, tc := range []struct{ args, want string }{
		{"-mode-opt chess.players=2", `unknown mode "chess"`},
		{"-mode-opt arena.lives=2", `mode arena has no option "lives"`},
		{"-mode-opt arena.players=two", `"two" is not an integer`},
		{"-mode-opt arena.players=0", "out of range"},
		{"-arena-players 0", "out of range"},
		{"-mode-opt arena", "want mode.option=value"},
	} {
		_, err := parseFlags(strings.Fields(tc.args)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	if _, err := New(Options{ModeOpts: []string{"arena.speed=fast"}}); err == nil || !strings.Contains(err.Error(), "not a finite number") {
		t.Error("New took a bad setting")
	}
}

// -h lists every mode's options with their defaults and docs.
func TestHelpListsModeOptions(t *testing.T) {
	var b bytes.Buffer
	PrintModeOptions(&b)
	for _, want := range []string{"arena: Free-for-all", "arena.players=8", "seats of a match (int, 1 to 4096)",
		"arena.duration=3m0s", "tag.speed=220", "tag.interest-radius=600"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, b.String())
		}
	}
}

// GET /v1/modes lists the registry's modes with this server's values.
func TestModesEndpoint(t *testing.T) {
	_, base := startServer(t, Options{ModeOpts: []string{"arena.players=12"}})
	resp, err := http.Get(base + "/v1/modes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Modes []struct {
			Name, Title, Description string
			Players                  int
			DurationMs               int64
			Options                  []struct{ Name, Type, Value, Default, Doc, Range string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%v %s %+v", err, resp.Status, resp.Header)
	}
	if len(body.Modes) < 2 || body.Modes[0].Name != "arena" {
		t.Fatalf("modes %+v", body.Modes)
	}
	a := body.Modes[0]
	if a.Title != "Arena" || a.Description == "" || a.Players != 12 || a.DurationMs != 180000 {
		t.Errorf("arena %+v", a)
	}
	found := false
	for _, o := range a.Options {
		if o.Name == "players" {
			found = o.Value == "12" && o.Default == "8" && o.Type == "int" && o.Range == "1 to 4096" && o.Doc != ""
		}
	}
	if !found {
		t.Errorf("arena options %+v", a.Options)
	}
}
