//go:build js && wasm

package main

import (
	"math"
	"runtime"
	"syscall/js"
)

// main sets the global skirmishPredict and stays alive (its functions are
// called from JavaScript):
//
//	skirmishPredict.version                  the Go version that built it
//	skirmishPredict.configure({mode, speed, tickRate, worldW, worldH})
//	                                         null, or an error's text
//	skirmishPredict.step(x, y, mx, my)       [x, y] after one tick's move
//	skirmishPredict.replay(x, y, moves)      [x, y] after step for each
//	                                         (mx, my) of moves = [mx0, my0, mx1, my1, …]
//	skirmishPredict.canMove(kind, fields)    whether inputs move such an avatar
//
// Numbers cross as float64 and are rounded to float32 (as the server's
// decoder rounds inputs); results are float32 values. It then calls
// globalThis.skirmishPredictReady(), if the page set it.
func main() {
	var p *predictor
	f32 := func(v js.Value) float32 { return float32(v.Float()) }
	pair := func(x, y float32) any { return []any{float64(x), float64(y)} }
	api := map[string]any{
		"version": runtime.Version(),
		"configure": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if len(args) < 1 || args[0].Type() != js.TypeObject {
				return "configure takes {mode, speed, tickRate, worldW, worldH, immobile}"
			}
			o := args[0]
			num := func(k string) float64 {
				if v := o.Get(k); v.Type() == js.TypeNumber {
					return v.Float()
				}
				return math.NaN()
			}
			mode := ""
			if v := o.Get("mode"); v.Type() == js.TypeString {
				mode = v.String()
			}
			rate := num("tickRate")
			if !(rate >= 1 && rate <= 1000) {
				return "tickRate out of range"
			}
			var immobile []float64
			if v := o.Get("immobile"); v.Type() == js.TypeObject {
				for i := range min(v.Length(), 4) {
					if e := v.Index(i); e.Type() == js.TypeNumber {
						immobile = append(immobile, e.Float())
					} else {
						immobile = append(immobile, math.NaN())
					}
				}
			}
			np, err := newPredictor(params{Mode: mode, Speed: num("speed"), TickRate: int(rate),
				Width: num("worldW"), Height: num("worldH"), Immobile: immobile})
			if err != nil {
				return err.Error()
			}
			p = np
			return nil
		}),
		"step": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if p == nil || len(args) < 4 {
				return js.Null()
			}
			return pair(p.step(f32(args[0]), f32(args[1]), f32(args[2]), f32(args[3])))
		}),
		"replay": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if p == nil || len(args) < 3 {
				return js.Null()
			}
			x, y, moves := f32(args[0]), f32(args[1]), args[2]
			for i, n := 0, moves.Length(); i+1 < n; i += 2 {
				x, y = p.step(x, y, f32(moves.Index(i)), f32(moves.Index(i+1)))
			}
			return pair(x, y)
		}),
		"canMove": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if p == nil || len(args) < 2 {
				return true
			}
			fs := make([]float32, 0, 8)
			for i, n := 0, args[1].Length(); i < n && i < cap(fs); i++ {
				fs = append(fs, f32(args[1].Index(i)))
			}
			return p.canMove(uint8(args[0].Int()), fs)
		}),
	}
	js.Global().Set("skirmishPredict", js.ValueOf(api))
	if ready := js.Global().Get("skirmishPredictReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}
