package netcode

import (
	"math"
	"math/bits"
)

// Reject reports an input that was not applied, and why.
type Reject struct {
	Seq  uint32
	Code uint8
}

// Event is something that happened during a tick; its Type and the meaning
// of A and B are declared by the mode (ModeInfo.Events).
type Event struct {
	Type uint8
	A, B uint32
}

// Score is one seated player's score, keyed by their avatar, and whether
// they are away (disconnected, their seat held). Name is the player's name:
// a view sends it the first time it sends the player's entry (every entry of
// a full view, the entry of a player seated since), and "" otherwise, so
// that names cost no bytes after that.
type Score struct {
	Entity uint32
	Score  int32
	Away   bool
	Name   string
}

// Standing is one player's line in a match result.
type Standing struct {
	PlayerID string
	Name     string
	Entity   uint32
	Score    int32
	Place    uint16
	// Team is the player's team in a team mode, from 1; 0 in a mode
	// without teams (the standing then travels without it).
	Team uint8
}

// SnapshotHeader is the part of a snapshot that is not the view: the
// tick, the player's acks and rejects, the events they can see, changed
// scores and the input lead.
type SnapshotHeader struct {
	Tick    uint32
	AckSeq  uint32
	Rejects []Reject
	Events  []Event
	// Scores are the scores that changed since the last snapshot (all of
	// them in a full view).
	Scores []Score
	// LeadUs is how long before the tick that applied it the player's
	// input applied this tick arrived, in microseconds; HasLead is false
	// when no input was applied this tick.
	LeadUs  int32
	HasLead bool
}

// Create is a decoded create: an entity entering the view under Handle,
// with quantized values Q (x, y, then the schema's fields).
type Create struct {
	Handle uint16
	ID     uint32
	Kind   uint8
	Q      [2 + MaxFields]int64
}

// Update is a decoded update: the values whose bit is set in Mask changed
// by D[i] (quantized steps).
type Update struct {
	Handle uint16
	Mask   uint16
	D      [2 + MaxFields]int64
}

// Snapshot is a decoded snapshot.
type Snapshot struct {
	SnapshotHeader
	// Reset: clear the mirror before applying the creates (a full view).
	Reset   bool
	Creates []Create
	Updates []Update
	Removes []uint16
}

// Matched is the content of a matched message.
type Matched struct {
	MatchID        string
	Mode           string
	Entity         uint32
	TickRate       uint32
	WorldW, WorldH float32
	Schema         Schema
	// Tick is the match's current tick and EndTick the tick at which it
	// ends by the clock: time left is (EndTick - tick) / TickRate.
	Tick, EndTick uint32
	// AckSeq is the last input seq the match applied for this player: 0 in
	// a new match, where the player's seqs start again at 1; on a resumed
	// seat, inputs after it must be resent.
	AckSeq uint32
	// Info is the rest of the mode's declaration: movement, radii,
	// actions, events, teams and the immobility rule.
	Info ModeInfo
}

// AppendWelcome appends a welcome frame.
func AppendWelcome(dst []byte, version uint32, playerID, name string, where uint8) []byte {
	dst = appendArray(dst, 5)
	dst = appendUint(dst, MsgWelcome)
	dst = appendUint(dst, uint64(version))
	dst = appendString(dst, playerID)
	dst = appendString(dst, name)
	return appendUint(dst, uint64(where))
}

// AppendQueued appends a queued frame.
func AppendQueued(dst []byte, mode string) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgQueued)
	return appendString(dst, mode)
}

// AppendMatched appends a matched frame (protocol version 3):
//
//	[2, matchId, mode, entity, tickRate, worldW, worldH, schema, tick, endTick, ackSeq, info]
//	schema = [posScale, [[name, shape, color, size, label, team]…], [[name, scale]…]]
//	info   = [speed, avatarRadius, interestRadius, [[bit, name, cooldownTicks, aimed]…],
//	          [[type, name, a, b]…], [[name, color]…], [] or [field, min, max]]
//
// Scales, sizes and radii are floats (float64).
func AppendMatched(dst []byte, m *Matched) []byte {
	dst = appendArray(dst, 12)
	dst = appendUint(dst, MsgMatched)
	dst = appendString(dst, m.MatchID)
	dst = appendString(dst, m.Mode)
	dst = appendUint(dst, uint64(m.Entity))
	dst = appendUint(dst, uint64(m.TickRate))
	dst = appendFloat(dst, float64(m.WorldW))
	dst = appendFloat(dst, float64(m.WorldH))
	s := &m.Schema
	dst = appendArray(dst, 3)
	dst = appendFloat(dst, float64(s.PosScale))
	dst = appendArray(dst, len(s.Kinds))
	for _, k := range s.Kinds {
		dst = appendArray(dst, 6)
		dst = appendString(dst, k.Name)
		dst = appendString(dst, k.Shape)
		dst = appendString(dst, k.Color)
		dst = appendFloat(dst, float64(k.Size))
		dst = appendInt(dst, int64(k.Label))
		dst = appendInt(dst, int64(k.Team))
	}
	dst = appendArray(dst, len(s.Fields))
	for _, f := range s.Fields {
		dst = appendArray(dst, 2)
		dst = appendString(dst, f.Name)
		dst = appendFloat(dst, float64(f.Scale))
	}
	dst = appendUint(dst, uint64(m.Tick))
	dst = appendUint(dst, uint64(m.EndTick))
	dst = appendUint(dst, uint64(m.AckSeq))
	return appendModeInfo(dst, &m.Info)
}

// appendModeInfo appends the info element of a matched frame.
func appendModeInfo(dst []byte, mi *ModeInfo) []byte {
	dst = appendArray(dst, 7)
	dst = appendFloat(dst, float64(mi.Speed))
	dst = appendFloat(dst, float64(mi.AvatarRadius))
	dst = appendFloat(dst, float64(mi.InterestRadius))
	dst = appendArray(dst, len(mi.Actions))
	for _, a := range mi.Actions {
		dst = appendArray(dst, 4)
		dst = appendUint(dst, uint64(a.Bit))
		dst = appendString(dst, a.Name)
		dst = appendUint(dst, uint64(a.CooldownTicks))
		dst = appendBool(dst, a.Aimed)
	}
	dst = appendArray(dst, len(mi.Events))
	for _, e := range mi.Events {
		dst = appendArray(dst, 4)
		dst = appendUint(dst, uint64(e.Type))
		dst = appendString(dst, e.Name)
		dst = appendString(dst, e.A)
		dst = appendString(dst, e.B)
	}
	dst = appendArray(dst, len(mi.Teams))
	for _, t := range mi.Teams {
		dst = appendArray(dst, 2)
		dst = appendString(dst, t.Name)
		dst = appendString(dst, t.Color)
	}
	if im := mi.Immobile; im != nil {
		dst = appendArray(dst, 3)
		dst = appendUint(dst, uint64(im.Field))
		dst = appendFloat(dst, float64(im.Min))
		return appendFloat(dst, float64(im.Max))
	}
	return appendArray(dst, 0)
}

// A snapshot frame (protocol versions 2 and 3) is
//
//	[3, tick, ackSeq, flags, updates, lead?, rejects?, events?, scores?, creates?, removes?]
//
// Its first snapFixed elements are always there; each optional part
// follows only when its bit of flags is set, in this order. A snapshot of
// a player who just moved on, with nothing else to say, is tick, ackSeq,
// flags, the updates and the lead.
const (
	snapFixed = 5

	// snapReset: a full view; clear the mirror first (no element).
	snapReset = 1 << 0
	// snapLead: lead, the int microseconds input ackSeq waited.
	snapLead = 1 << 1
	// snapRejects: rejects, [[seq, code]…] (never empty).
	snapRejects = 1 << 2
	// snapEvents: events, [[type, a, b]…] (never empty).
	snapEvents = 1 << 3
	// snapScores: scores, [[entity, score, away]…] (never empty).
	snapScores = 1 << 4
	// snapCreates: creates, [[handle, id, kind, v…]…] (never empty).
	snapCreates = 1 << 5
	// snapRemoves: removes, [handle…] (never empty).
	snapRemoves = 1 << 6
	// snapParts are the flags of optional elements.
	snapParts = snapLead | snapRejects | snapEvents | snapScores | snapCreates | snapRemoves
)

// updateXY is the mask of an update of x and y only, which travels without
// its mask (handle·2, dx, dy); every other update is handle·2+1, mask, d….
const updateXY = 3

// appendSnapshotLists appends h's rejects, events and scores, each only if
// it is not empty.
func appendSnapshotLists(dst []byte, h *SnapshotHeader) []byte {
	if len(h.Rejects) > 0 {
		dst = appendArray(dst, len(h.Rejects))
		for _, r := range h.Rejects {
			dst = appendArray(dst, 2)
			dst = appendUint(dst, uint64(r.Seq))
			dst = appendUint(dst, uint64(r.Code))
		}
	}
	if len(h.Events) > 0 {
		dst = appendArray(dst, len(h.Events))
		for _, e := range h.Events {
			dst = appendArray(dst, 3)
			dst = appendUint(dst, uint64(e.Type))
			dst = appendUint(dst, uint64(e.A))
			dst = appendUint(dst, uint64(e.B))
		}
	}
	if len(h.Scores) > 0 {
		dst = appendArray(dst, len(h.Scores))
		for _, s := range h.Scores {
			if s.Name == "" {
				dst = appendArray(dst, 3)
			} else {
				dst = appendArray(dst, 4)
			}
			dst = appendUint(dst, uint64(s.Entity))
			dst = appendInt(dst, int64(s.Score))
			dst = appendBool(dst, s.Away)
			if s.Name != "" {
				dst = appendString(dst, s.Name)
			}
		}
	}
	return dst
}

// AppendResult appends a result frame.
func AppendResult(dst []byte, outcome uint8, standings []Standing) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgResult)
	dst = appendUint(dst, uint64(outcome))
	dst = appendArray(dst, len(standings))
	for _, s := range standings {
		n := 5
		if s.Team != 0 {
			n = 6
		}
		dst = appendArray(dst, n)
		dst = appendString(dst, s.PlayerID)
		dst = appendString(dst, s.Name)
		dst = appendUint(dst, uint64(s.Entity))
		dst = appendInt(dst, int64(s.Score))
		dst = appendUint(dst, uint64(s.Place))
		if s.Team != 0 {
			dst = appendUint(dst, uint64(s.Team))
		}
	}
	return dst
}

// AppendPong appends a pong frame that echoes clientTime, the MessagePack
// encoding of the ping's clientTime exactly as the client sent it
// (ClientMsg.RawClientTime).
func AppendPong(dst []byte, clientTime []byte, serverTimeMs uint64) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgPong)
	dst = append(dst, clientTime...)
	return appendUint(dst, serverTimeMs)
}

// MaxURL is the longest URL a moved message may carry.
const MaxURL = 1024

// AppendMoved appends a moved frame: the player's seat is at the node whose
// base URL is url.
func AppendMoved(dst []byte, url string) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgMoved)
	return appendString(dst, url)
}

// AppendError appends an error frame.
func AppendError(dst []byte, code ErrorCode) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgError)
	dst = appendUint(dst, uint64(code))
	return appendString(dst, code.String())
}

// Limits of the server-frame decoder. They bound what a client allocates for
// a frame from a faulty or hostile server.
const (
	maxEntities  = 1 << 16
	maxList      = 4096
	maxStrServer = 256
)

// ServerMsg is one decoded server frame. Only the fields of its Type are
// set; its slices are reused from one DecodeServer to the next.
type ServerMsg struct {
	Type uint8
	// welcome
	Version  uint32
	PlayerID string
	Name     string
	Where    uint8 // WhereLobby, WhereQueued or WhereSeated
	// queued
	Mode string
	// matched
	Matched Matched
	// snapshot
	Snapshot Snapshot
	// result
	Outcome   uint8
	Standings []Standing
	// pong
	ClientTime   float64
	ServerTimeMs uint64
	// error
	ErrCode ErrorCode
	ErrText string
	// moved: the base URL of the node to reconnect to
	URL string
}

// DecodeServer decodes one server frame into m. Snapshots are dequantized
// with schema (from the matched message); schema may be nil for other
// messages. Lengths are bounded like those of DecodeClient.
func (r *Reader) DecodeServer(frame []byte, m *ServerMsg, schema *Schema) error {
	n, typ, err := r.header(frame, 64)
	if err != nil {
		return err
	}
	m.Type = typ
	need := 1
	switch m.Type {
	case MsgWelcome:
		need = 4
		if n < need {
			return errTruncated
		}
		v, err := r.Uint(math.MaxUint32)
		if err != nil {
			return err
		}
		m.Version = uint32(v)
		if m.PlayerID, err = r.String(maxStrServer); err != nil {
			return err
		}
		if m.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		m.Where = WhereLobby
		if n >= 5 {
			need = 5
			w, err := r.Uint(math.MaxUint8)
			if err != nil {
				return err
			}
			m.Where = uint8(w)
		}
	case MsgQueued:
		need = 2
		if n < need {
			return errTruncated
		}
		if m.Mode, err = r.String(maxStrServer); err != nil {
			return err
		}
	case MsgMatched:
		need = 12
		if n < need {
			return errTruncated
		}
		if err := r.decodeMatched(&m.Matched); err != nil {
			return err
		}
	case MsgSnapshot:
		need = snapFixed
		if n < need {
			return errTruncated
		}
		if schema == nil {
			return errType
		}
		if need, err = r.decodeSnapshot(&m.Snapshot, schema, n); err != nil {
			return err
		}
	case MsgResult:
		need = 3
		if n < need {
			return errTruncated
		}
		if err := r.decodeResult(m); err != nil {
			return err
		}
	case MsgPong:
		need = 3
		if n < need {
			return errTruncated
		}
		if m.ClientTime, err = r.Float(); err != nil {
			return err
		}
		if m.ServerTimeMs, err = r.Uint(math.MaxInt64); err != nil {
			return err
		}
	case MsgError:
		need = 3
		if n < need {
			return errTruncated
		}
		c, err := r.Uint(math.MaxUint16)
		if err != nil {
			return err
		}
		m.ErrCode = ErrorCode(c)
		if m.ErrText, err = r.String(maxStrServer); err != nil {
			return err
		}
	case MsgMoved:
		need = 2
		if n < need {
			return errTruncated
		}
		if m.URL, err = r.String(MaxURL); err != nil {
			return err
		}
	default:
		return errUnknown
	}
	if err := r.SkipRest(n - need); err != nil {
		return err
	}
	return r.End()
}

func (r *Reader) decodeMatched(m *Matched) error {
	var err error
	if m.MatchID, err = r.String(maxStrServer); err != nil {
		return err
	}
	if m.Mode, err = r.String(maxStrServer); err != nil {
		return err
	}
	v, err := r.Uint(math.MaxUint32)
	if err != nil {
		return err
	}
	m.Entity = uint32(v)
	if v, err = r.Uint(1000); err != nil {
		return err
	}
	m.TickRate = uint32(v)
	if m.WorldW, err = r.float32(); err != nil {
		return err
	}
	if m.WorldH, err = r.float32(); err != nil {
		return err
	}
	if err := r.decodeSchema(&m.Schema); err != nil {
		return err
	}
	if v, err = r.Uint(math.MaxUint32); err != nil {
		return err
	}
	m.Tick = uint32(v)
	if v, err = r.Uint(math.MaxUint32); err != nil {
		return err
	}
	m.EndTick = uint32(v)
	if v, err = r.Uint(math.MaxUint32); err != nil {
		return err
	}
	m.AckSeq = uint32(v)
	return r.decodeModeInfo(&m.Info, &m.Schema)
}

// float32 reads a finite float that fits a float32.
func (r *Reader) float32() (float32, error) {
	f, err := r.Float()
	if err != nil {
		return 0, err
	}
	if f > math.MaxFloat32 || f < -math.MaxFloat32 {
		return 0, errRange
	}
	return float32(f), nil
}

// fields reads the header of an array of at least min elements (at most
// max) and returns its length; the caller skips what it does not read.
func (r *Reader) fields(min, max int) (int, error) {
	n, err := r.ArrayLen(max)
	if err != nil {
		return 0, err
	}
	if n < min {
		return 0, errTruncated
	}
	return n, nil
}

// decodeSchema reads matched's schema and validates it.
func (r *Reader) decodeSchema(s *Schema) error {
	n, err := r.fields(3, 16)
	if err != nil {
		return err
	}
	if s.PosScale, err = r.float32(); err != nil {
		return err
	}
	k, err := r.ArrayLen(MaxKinds)
	if err != nil {
		return err
	}
	s.Kinds = s.Kinds[:0]
	for range k {
		kl, err := r.fields(6, 16)
		if err != nil {
			return err
		}
		var kd Kind
		if kd.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if kd.Shape, err = r.String(maxStrServer); err != nil {
			return err
		}
		if kd.Color, err = r.String(maxStrServer); err != nil {
			return err
		}
		if kd.Size, err = r.float32(); err != nil {
			return err
		}
		l, err := r.Int(LabelOwner, MaxFields-1)
		if err != nil {
			return err
		}
		t, err := r.Int(-1, MaxFields-1)
		if err != nil {
			return err
		}
		kd.Label, kd.Team = int8(l), int8(t)
		if err := r.SkipRest(kl - 6); err != nil {
			return err
		}
		s.Kinds = append(s.Kinds, kd)
	}
	f, err := r.ArrayLen(MaxFields)
	if err != nil {
		return err
	}
	s.Fields = s.Fields[:0]
	for range f {
		fl, err := r.fields(2, 8)
		if err != nil {
			return err
		}
		var fd Field
		if fd.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if fd.Scale, err = r.float32(); err != nil {
			return err
		}
		if err := r.SkipRest(fl - 2); err != nil {
			return err
		}
		s.Fields = append(s.Fields, fd)
	}
	if err := r.SkipRest(n - 3); err != nil {
		return err
	}
	return s.Validate()
}

// decodeModeInfo reads matched's info element. Event argument meanings
// are taken as sent (a later revision may add some); a kind's team field
// needs teams, and the immobility rule a field of schema s.
func (r *Reader) decodeModeInfo(mi *ModeInfo, s *Schema) error {
	n, err := r.fields(7, 16)
	if err != nil {
		return err
	}
	if mi.Speed, err = r.float32(); err != nil {
		return err
	}
	if mi.AvatarRadius, err = r.float32(); err != nil {
		return err
	}
	if mi.InterestRadius, err = r.float32(); err != nil {
		return err
	}
	na, err := r.ArrayLen(MaxActions)
	if err != nil {
		return err
	}
	mi.Actions = mi.Actions[:0]
	var used uint16
	for range na {
		al, err := r.fields(4, 8)
		if err != nil {
			return err
		}
		var a Action
		v, err := r.Uint(7)
		if err != nil {
			return err
		}
		if used&(1<<v) != 0 {
			return errRange
		}
		used |= 1 << v
		a.Bit = uint8(v)
		if a.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		a.CooldownTicks = uint32(v)
		if a.Aimed, err = r.Bool(); err != nil {
			return err
		}
		if err := r.SkipRest(al - 4); err != nil {
			return err
		}
		mi.Actions = append(mi.Actions, a)
	}
	ne, err := r.ArrayLen(MaxEvents)
	if err != nil {
		return err
	}
	mi.Events = mi.Events[:0]
	for range ne {
		el, err := r.fields(4, 8)
		if err != nil {
			return err
		}
		var e EventDecl
		v, err := r.Uint(math.MaxUint8)
		if err != nil {
			return err
		}
		e.Type = uint8(v)
		if e.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if e.A, err = r.String(maxStrServer); err != nil {
			return err
		}
		if e.B, err = r.String(maxStrServer); err != nil {
			return err
		}
		if err := r.SkipRest(el - 4); err != nil {
			return err
		}
		mi.Events = append(mi.Events, e)
	}
	nt, err := r.ArrayLen(MaxTeams)
	if err != nil {
		return err
	}
	mi.Teams = mi.Teams[:0]
	for range nt {
		tl, err := r.fields(2, 8)
		if err != nil {
			return err
		}
		var t Team
		if t.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if t.Color, err = r.String(maxStrServer); err != nil {
			return err
		}
		if err := r.SkipRest(tl - 2); err != nil {
			return err
		}
		mi.Teams = append(mi.Teams, t)
	}
	il, err := r.ArrayLen(8)
	if err != nil {
		return err
	}
	mi.Immobile = nil
	if il > 0 {
		if il < 3 {
			return errTruncated
		}
		var im Immobile
		v, err := r.Uint(uint64(max(len(s.Fields)-1, 0)))
		if err != nil || len(s.Fields) == 0 {
			return errRange
		}
		im.Field = uint8(v)
		if im.Min, err = r.float32(); err != nil {
			return err
		}
		if im.Max, err = r.float32(); err != nil {
			return err
		}
		if err := r.SkipRest(il - 3); err != nil {
			return err
		}
		mi.Immobile = &im
	}
	for _, k := range s.Kinds {
		if k.Team >= 0 && len(mi.Teams) == 0 {
			return errRange
		}
	}
	return r.SkipRest(n - 7)
}

// decodeSnapshot decodes a snapshot of n elements after its type and
// returns how many of them it read.
func (r *Reader) decodeSnapshot(s *Snapshot, schema *Schema, n int) (int, error) {
	v, err := r.Uint(math.MaxUint32)
	if err != nil {
		return 0, err
	}
	s.Tick = uint32(v)
	if v, err = r.Uint(math.MaxUint32); err != nil {
		return 0, err
	}
	s.AckSeq = uint32(v)
	// Flags of later minor revisions are ignored: their parts follow ours.
	flags, err := r.Uint(math.MaxUint32)
	if err != nil {
		return 0, err
	}
	need := snapFixed + bits.OnesCount64(flags&snapParts)
	if n < need {
		return 0, errTruncated
	}
	s.Reset = flags&snapReset != 0
	s.Rejects, s.Events, s.Scores = s.Rejects[:0], s.Events[:0], s.Scores[:0]
	s.Creates, s.Updates, s.Removes = s.Creates[:0], s.Updates[:0], s.Removes[:0]
	nv := 2 + len(schema.Fields)
	if err := r.decodeUpdates(s, nv); err != nil {
		return 0, err
	}
	s.LeadUs, s.HasLead = 0, false
	if flags&snapLead != 0 {
		iv, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return 0, err
		}
		s.LeadUs, s.HasLead = int32(iv), true
	}
	if flags&snapRejects != 0 {
		if err := r.decodeRejects(s); err != nil {
			return 0, err
		}
	}
	if flags&snapEvents != 0 {
		if err := r.decodeEvents(s); err != nil {
			return 0, err
		}
	}
	if flags&snapScores != 0 {
		if err := r.decodeScores(s); err != nil {
			return 0, err
		}
	}
	if flags&snapCreates != 0 {
		if err := r.decodeCreates(s, nv); err != nil {
			return 0, err
		}
	}
	if flags&snapRemoves != 0 {
		if err := r.decodeRemoves(s); err != nil {
			return 0, err
		}
	}
	return need, nil
}

// decodeUpdates reads the flat updates array: groups of handle·2 dx dy, or
// handle·2+1 mask d… (one d per set bit of mask, in bit order).
func (r *Reader) decodeUpdates(s *Snapshot, nv int) error {
	n, err := r.ArrayLen(maxEntities * (2 + nv))
	if err != nil {
		return err
	}
	for n > 0 {
		var u Update
		key, err := r.Uint(math.MaxUint16<<1 | 1)
		if err != nil {
			return err
		}
		u.Handle = uint16(key >> 1)
		n--
		if key&1 == 0 {
			u.Mask = updateXY
		} else {
			if n == 0 {
				return errTruncated
			}
			m, err := r.Uint(1<<nv - 1)
			if err != nil {
				return err
			}
			u.Mask = uint16(m)
			n--
		}
		for i := range nv {
			if u.Mask&(1<<i) == 0 {
				continue
			}
			if n == 0 {
				return errTruncated
			}
			if u.D[i], err = r.Int(math.MinInt32, math.MaxInt32); err != nil {
				return err
			}
			n--
		}
		s.Updates = append(s.Updates, u)
	}
	return nil
}

func (r *Reader) decodeRejects(s *Snapshot) error {
	n, err := r.ArrayLen(maxList)
	if err != nil {
		return err
	}
	for range n {
		var rj Reject
		if err := r.tuple(2); err != nil {
			return err
		}
		v, err := r.Uint(math.MaxUint32)
		if err != nil {
			return err
		}
		rj.Seq = uint32(v)
		if v, err = r.Uint(math.MaxUint8); err != nil {
			return err
		}
		rj.Code = uint8(v)
		s.Rejects = append(s.Rejects, rj)
	}
	return nil
}

func (r *Reader) decodeEvents(s *Snapshot) error {
	n, err := r.ArrayLen(maxList)
	if err != nil {
		return err
	}
	for range n {
		var ev Event
		if err := r.tuple(3); err != nil {
			return err
		}
		v, err := r.Uint(math.MaxUint8)
		if err != nil {
			return err
		}
		ev.Type = uint8(v)
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		ev.A = uint32(v)
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		ev.B = uint32(v)
		s.Events = append(s.Events, ev)
	}
	return nil
}

func (r *Reader) decodeScores(s *Snapshot) error {
	n, err := r.ArrayLen(maxList)
	if err != nil {
		return err
	}
	for range n {
		var sc Score
		l, err := r.fields(3, 8)
		if err != nil {
			return err
		}
		v, err := r.Uint(math.MaxUint32)
		if err != nil {
			return err
		}
		sc.Entity = uint32(v)
		iv, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		sc.Score = int32(iv)
		if sc.Away, err = r.Bool(); err != nil {
			return err
		}
		if l >= 4 {
			if sc.Name, err = r.String(maxStrServer); err != nil {
				return err
			}
			if err := r.SkipRest(l - 4); err != nil {
				return err
			}
		}
		s.Scores = append(s.Scores, sc)
	}
	return nil
}

func (r *Reader) decodeCreates(s *Snapshot, nv int) error {
	n, err := r.ArrayLen(maxEntities)
	if err != nil {
		return err
	}
	for range n {
		var c Create
		l, err := r.ArrayLen(3 + MaxFields + 2 + 8)
		if err != nil {
			return err
		}
		if l < 3+nv {
			return errTruncated
		}
		v, err := r.Uint(math.MaxUint16)
		if err != nil {
			return err
		}
		c.Handle = uint16(v)
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		c.ID = uint32(v)
		if v, err = r.Uint(math.MaxUint8); err != nil {
			return err
		}
		c.Kind = uint8(v)
		for i := range nv {
			if c.Q[i], err = r.Int(math.MinInt32, math.MaxInt32); err != nil {
				return err
			}
		}
		if err := r.SkipRest(l - 3 - nv); err != nil {
			return err
		}
		s.Creates = append(s.Creates, c)
	}
	return nil
}

func (r *Reader) decodeRemoves(s *Snapshot) error {
	n, err := r.ArrayLen(maxEntities)
	if err != nil {
		return err
	}
	for range n {
		v, err := r.Uint(math.MaxUint16)
		if err != nil {
			return err
		}
		s.Removes = append(s.Removes, uint16(v))
	}
	return nil
}

func (r *Reader) decodeResult(m *ServerMsg) error {
	v, err := r.Uint(math.MaxUint8)
	if err != nil {
		return err
	}
	m.Outcome = uint8(v)
	n, err := r.ArrayLen(maxList)
	if err != nil {
		return err
	}
	m.Standings = m.Standings[:0]
	for range n {
		var s Standing
		// 5 elements, or 6 with a team.
		l, err := r.ArrayLen(6)
		if err != nil {
			return err
		}
		if l < 5 {
			return errTruncated
		}
		if s.PlayerID, err = r.String(maxStrServer); err != nil {
			return err
		}
		if s.Name, err = r.String(maxStrServer); err != nil {
			return err
		}
		if v, err = r.Uint(math.MaxUint32); err != nil {
			return err
		}
		s.Entity = uint32(v)
		iv, err := r.Int(math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		s.Score = int32(iv)
		if v, err = r.Uint(math.MaxUint16); err != nil {
			return err
		}
		s.Place = uint16(v)
		if l == 6 {
			if v, err = r.Uint(math.MaxUint8); err != nil {
				return err
			}
			s.Team = uint8(v)
		}
		m.Standings = append(m.Standings, s)
	}
	return nil
}

// tuple reads the header of a fixed-size array of exactly n elements.
func (r *Reader) tuple(n int) error {
	l, err := r.ArrayLen(n)
	if err != nil {
		return err
	}
	if l != n {
		return errTruncated
	}
	return nil
}
