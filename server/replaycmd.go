package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"skirmish/match"
	"skirmish/netcode"
)

// maxReplayFile bounds the log ReplayFile reads.
const maxReplayFile = 1 << 30

// ReplayFile re-simulates the input log in file path with this build's
// rules (match.Replay: no sockets, no clock) and prints to w the match,
// the tick count, the final state hash and the standings (place, name,
// score). It returns an error for a file that is not a log or is
// malformed, for a log without its end record, and for a desync: a
// re-simulation that does not end with the tick count, hash and
// standings the log recorded.
func ReplayFile(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxReplayFile+1))
	f.Close()
	if err != nil {
		return err
	}
	if len(data) > maxReplayFile {
		return fmt.Errorf("%s: larger than %d bytes", path, maxReplayFile)
	}
	// Seated players, summed over the ticks: the log's size per
	// player-minute.
	seatTicks := 0
	res, err := match.Replay(data, match.ReplayOptions{EachTick: func(s *match.Sim) {
		for _, p := range s.World.Players {
			if p != nil {
				seatTicks++
			}
		}
	}})
	if res == nil {
		return err
	}
	h := res.Header
	from := fmt.Sprintf("seed %#016x, id base %d", h.Seed, h.IDBase)
	if len(h.Checkpoint) > 0 {
		from = fmt.Sprintf("from a checkpoint of %d bytes (adopted)", len(h.Checkpoint))
	}
	fmt.Fprintf(w, "match %s: %s (%s) at %d Hz, %s, rewind %d ticks, started %s\n", h.MatchID, h.Mode,
		strings.Join(h.Settings, " "), h.TickRate, from, h.RewindTicks, time.UnixMilli(h.StartUnixMs).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "ticks %d\nhash %016x\n", res.Ticks, res.Hash)
	if pm := float64(seatTicks) / float64(h.TickRate) / 60; pm > 0 {
		fmt.Fprintf(w, "size %d bytes for %.2f player-minutes seated: %.0f bytes per player-minute\n", len(data), pm, float64(len(data))/pm)
	}
	if res.End != nil {
		fmt.Fprintf(w, "outcome %s\n", outcomeName(res.End.Outcome))
	}
	if res.Standings != nil {
		fmt.Fprintln(w, "standings")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  place\tname\tscore\tteam\t")
		for _, s := range res.Standings {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%d\t\n", s.Place, s.Name, s.Score, s.Team)
		}
		tw.Flush()
	}
	switch {
	case errors.Is(err, match.ErrLogIncomplete):
		return fmt.Errorf("%w: the match was still running, or its recording was given up (its store was too slow) or cut (its Redis copy outgrew -record-max-bytes); the figures above are those of the last recorded tick", err)
	case err != nil:
		return err
	}
	fmt.Fprintln(w, "ok: the re-simulation ends as recorded (ticks, hash, standings)")
	return nil
}

func outcomeName(o uint8) string {
	switch o {
	case netcode.OutcomeNormal:
		return "normal"
	case netcode.OutcomeShutdown:
		return "shutdown"
	case netcode.OutcomeError:
		return "error"
	}
	return fmt.Sprint(o)
}
