package server

import (
	"context"
	"encoding/json"
	"time"

	"skirmish/match"
	"skirmish/netcode"
)

// Messages between nodes, on Redis pub/sub: a match to host or to fill,
// a player moved to another node or connected elsewhere, a match handed
// off.

// fleetMsg is a message between nodes, on pub/sub.
type fleetMsg struct {
	T       string         `json:"t"` // adopt, host, fill, moved, kick
	Match   string         `json:"match,omitempty"`
	Mode    string         `json:"mode,omitempty"`
	Player  string         `json:"player,omitempty"`
	URL     string         `json:"url,omitempty"`
	From    string         `json:"from,omitempty"`
	Tickets []match.Ticket `json:"tickets,omitempty"`
}

func (f *fleet) publish(ctx context.Context, node string, m fleetMsg) error {
	b, _ := json.Marshal(m)
	ch := fleetKey("to", node)
	if node == "" {
		ch = fleetKey("all")
	}
	return f.rdb.Publish(ctx, ch, b).Err()
}

// subscribeLoop receives the messages to this node and to all nodes.
func (f *fleet) subscribeLoop() {
	for {
		ctx, cancel := context.WithCancel(context.Background())
		ps := f.rdb.Subscribe(ctx, fleetKey("to", f.id), fleetKey("all"))
		go func() {
			// A blocked read ends only when its connection closes.
			select {
			case <-f.quit:
			case <-ctx.Done():
			}
			cancel()
			_ = ps.Close()
		}()
		for {
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				break
			}
			var m fleetMsg
			if json.Unmarshal([]byte(msg.Payload), &m) != nil {
				continue
			}
			f.handle(m)
		}
		_ = ps.Close()
		cancel()
		select {
		case <-f.quit:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (f *fleet) handle(m fleetMsg) {
	switch m.T {
	case "host":
		seated := f.s.lobby.Host(m.Match, m.Mode, m.Tickets)
		f.placed(m.Mode, m.Tickets, seated)
	case "fill":
		seated := f.s.lobby.Fill(m.Match, m.Tickets)
		f.placed(m.Mode, m.Tickets, seated)
	case "moved":
		f.s.lobby.MoveTo(m.Player, m.URL)
	case "kick":
		if m.From != f.id {
			f.s.lobby.Kick(m.Player, netcode.CloseReplaced)
		}
	case "adopt":
		go f.adoptHandedOff(m.Match)
	}
}

// placed sends the players seated here who queued on another node to this
// node, and puts the tickets not seated back in the queue.
func (f *fleet) placed(mode string, tickets, seated []match.Ticket) {
	ctx, cancel := f.ctx()
	defer cancel()
	in := map[string]bool{}
	for _, t := range seated {
		in[t.ID] = true
		if t.Node != f.id {
			_ = f.publish(ctx, t.Node, fleetMsg{T: "moved", Player: t.ID, URL: f.url})
		}
	}
	for _, t := range tickets {
		if !in[t.ID] {
			_ = f.enqueue(ctx, mode, t, time.Now())
		}
	}
}

// kickElsewhere tells the other nodes that player id connected here: a
// connection they hold for the player is replaced (4003).
func (f *fleet) kickElsewhere(id string) {
	ctx, cancel := f.ctx()
	defer cancel()
	if err := f.publish(ctx, "", fleetMsg{T: "kick", Player: id, From: f.id}); err != nil {
		f.warn("fleet: publishing a replacement", err)
	}
}
