package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"skirmish/game"
)

// diag is the browser's diagonal component (one ulp below Math.SQRT1_2).
const diag = 0.7071067811865475

// trace returns n moves of every sort the page sends: still, the four
// axes, the diagonals, arbitrary angles and lengths, tiny components, and
// long runs into each wall and corner (so that clamping happens often).
func trace(n int) [][2]float64 {
	r := rand.New(rand.NewPCG(11, 2026))
	var moves [][2]float64
	run := func(mx, my float64, k int) {
		for i := 0; i < k; i++ {
			moves = append(moves, [2]float64{mx, my})
		}
	}
	// Into the walls first: from near a corner, two of them clamp.
	run(-1, 0, 10)
	run(0, -1, 10)
	run(1, 0, 10)
	run(0, 1, 10)
	for len(moves) < n {
		switch r.IntN(8) {
		case 0:
			run(0, 0, 1+r.IntN(5))
		case 1:
			axes := [][2]float64{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}
			a := axes[r.IntN(4)]
			run(a[0], a[1], 1+r.IntN(60)) // long enough to reach a wall
		case 2:
			sx, sy := float64(1-2*r.IntN(2)), float64(1-2*r.IntN(2))
			run(sx*diag, sy*diag, 1+r.IntN(60))
		case 3, 4:
			a := r.Float64() * 2 * math.Pi
			l := r.Float64()
			run(l*math.Cos(a), l*math.Sin(a), 1)
		case 5:
			a := r.Float64() * 2 * math.Pi
			run(math.Cos(a), math.Sin(a), 1+r.IntN(10))
		case 6:
			run(1e-7*float64(r.IntN(3)-1), 3e-9, 1)
		case 7:
			run(-diag, 1e-3, 1+r.IntN(20))
		}
	}
	return moves[:n]
}

type traceIn struct {
	Mode     string       `json:"mode"`
	Speed    float64      `json:"speed"`
	TickRate int          `json:"tickRate"`
	WorldW   float64      `json:"worldW"`
	WorldH   float64      `json:"worldH"`
	Starts   [][2]float64 `json:"starts"`
	Moves    [][2]float64 `json:"moves"`
	Entities []traceEnt   `json:"entities"`
	Immobile []float64    `json:"immobile"`
}

type traceEnt struct {
	Kind   uint8
	Fields []float32
}

func (e traceEnt) MarshalJSON() ([]byte, error) { return json.Marshal([]any{e.Kind, e.Fields}) }

type traceOut struct {
	Version string      `json:"version"`
	Steps   [][2]uint32 `json:"steps"`
	Replay  [][2]uint32 `json:"replay"`
	CanMove []bool      `json:"canMove"`
}

// buildWasm compiles this package for GOOS=js GOARCH=wasm into dir and
// returns the .wasm and the toolchain's wasm_exec.js.
func buildWasm(t *testing.T, dir string) (wasm, execJS string) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not in PATH: %v", err)
	}
	wasm = filepath.Join(dir, "predict.wasm")
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", wasm, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build: %v\n%s", err, out)
	}
	out, err := exec.Command(gobin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	execJS = filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js")
	if _, err := os.Stat(execJS); err != nil {
		t.Fatalf("the toolchain's wasm_exec.js: %v", err)
	}
	return wasm, execJS
}

// TestWasmMatchesNative runs one input trace per built-in mode through the
// server's movement code (game.Move with the mode's spec, float32 inputs as
// the server decodes them) and through the WebAssembly build under Node,
// by the global API the page calls; every position must be bit-identical.
// Node is required: CI's image has it (.ci/run installs it); a machine
// without it fails here rather than skipping.
func TestWasmMatchesNative(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the WebAssembly predictor (apt-get install nodejs): %v", err)
	}
	dir := t.TempDir()
	wasm, execJS := buildWasm(t, dir)
	const tickRate = 30
	moves := trace(400)
	built, err := game.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range built {
		spec := b.Mode.Spec()
		t.Run(spec.Name, func(t *testing.T) {
			in := traceIn{
				Mode: spec.Name, Speed: float64(spec.Speed), TickRate: tickRate,
				WorldW: float64(spec.Width), WorldH: float64(spec.Height),
				Moves: moves, Immobile: []float64{},
			}
			if im := spec.Immobile; im != nil {
				in.Immobile = []float64{float64(im.Field), float64(im.Min), float64(im.Max)}
			}
			// The same moves from near each corner: every wall is reached.
			for _, c := range [][2]float64{{20, 30}, {1, 0}, {0, 1}, {1, 1}} {
				if c == [2]float64{20, 30} {
					in.Starts = append(in.Starts, c)
					continue
				}
				in.Starts = append(in.Starts, [2]float64{
					c[0]*float64(spec.Width) + (1-2*c[0])*20, c[1]*float64(spec.Height) + (1-2*c[1])*30})
			}
			// Entities to ask canMove about: every kind with its fields at 0 and at 100.
			var want []bool
			for k := range spec.Schema.Kinds {
				for _, v := range []float32{0, 100} {
					f := make([]float32, len(spec.Schema.Fields))
					for i := range f {
						f[i] = v
					}
					in.Entities = append(in.Entities, traceEnt{Kind: uint8(k), Fields: f})
					e := game.Entity{}
					e.Kind = uint8(k)
					copy(e.F[:], f)
					want = append(want, spec.CanMove(&e.Entity))
				}
			}
			file := filepath.Join(dir, spec.Name+".json")
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(node, filepath.Join("testdata", "trace.cjs"), execJS, wasm, file)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			outb, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, stderr.String())
			}
			var out traceOut
			if err := json.Unmarshal(outb, &out); err != nil {
				t.Fatalf("node's output: %v\n%s", err, outb)
			}
			if len(out.Steps) != len(moves)*len(in.Starts) || len(out.Replay) != len(in.Starts) {
				t.Fatalf("node returned %d positions and %d replays for %d moves from %d starts",
					len(out.Steps), len(out.Replay), len(moves), len(in.Starts))
			}

			// The server's arithmetic.
			dt := 1 / float32(tickRate)
			walls := map[string]int{}
			for s, start := range in.Starts {
				x, y := float32(start[0]), float32(start[1])
				for i, mv := range moves {
					x, y = game.Move(x, y, float32(mv[0]), float32(mv[1]), spec.Speed, dt, spec.Width, spec.Height)
					got := out.Steps[s*len(moves)+i]
					if got[0] != math.Float32bits(x) || got[1] != math.Float32bits(y) {
						t.Fatalf("start %v, move %d (%v, %v): wasm (%v, %v), native (%v, %v)", start, i, mv[0], mv[1],
							math.Float32frombits(got[0]), math.Float32frombits(got[1]), x, y)
					}
					switch {
					case x == 0:
						walls["left"]++
					case x == spec.Width:
						walls["right"]++
					}
					switch {
					case y == 0:
						walls["top"]++
					case y == spec.Height:
						walls["bottom"]++
					}
				}
				if out.Replay[s] != [2]uint32{math.Float32bits(x), math.Float32bits(y)} {
					t.Errorf("start %v, replay: wasm (%v, %v), native (%v, %v)", start,
						math.Float32frombits(out.Replay[s][0]), math.Float32frombits(out.Replay[s][1]), x, y)
				}
			}
			// The trace must have clamped at every wall.
			if len(walls) < 4 {
				t.Errorf("the trace clamped at %v only: it tests too little", walls)
			}
			if len(out.CanMove) != len(want) {
				t.Fatalf("canMove: %d answers for %d entities", len(out.CanMove), len(want))
			}
			for i := range want {
				if out.CanMove[i] != want[i] {
					t.Errorf("canMove(%v): wasm %v, native %v", in.Entities[i], out.CanMove[i], want[i])
				}
			}
			t.Logf("%d moves from %d starts, walls reached %v, built by %s", len(moves), len(in.Starts), walls, out.Version)
		})
	}
}

// TestPredictorChecksParams: configure refuses what would make nonsense.
func TestPredictorChecksParams(t *testing.T) {
	ok := params{Mode: "arena", Speed: 200, TickRate: 30, Width: 2000, Height: 2000}
	if _, err := newPredictor(ok); err != nil {
		t.Fatal(err)
	}
	for _, p := range []params{
		{Mode: "arena", Speed: 200, TickRate: 0, Width: 2000, Height: 2000},
		{Mode: "arena", Speed: math.NaN(), TickRate: 30, Width: 2000, Height: 2000},
		{Mode: "arena", Speed: 200, TickRate: 30, Width: math.Inf(1), Height: 2000},
		{Mode: "arena", Speed: -1, TickRate: 30, Width: 2000, Height: 2000},
	} {
		if _, err := newPredictor(p); err == nil {
			t.Errorf("newPredictor(%+v) accepted it", p)
		}
	}
	// A mode this build does not know moves freely.
	p, _ := newPredictor(params{Mode: "nope", Speed: 1, TickRate: 30, Width: 1, Height: 1})
	if !p.canMove(0, []float32{0}) {
		t.Error("an unknown mode's avatar does not move")
	}
}
