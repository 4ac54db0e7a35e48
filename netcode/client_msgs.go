package netcode

import "math"

// Input is one player input: a move direction, buttons and an aim, with the
// client's sequence number, and the moment of the match the player was
// looking at when they sent it (for lag compensation).
type Input struct {
	Seq          uint32
	MoveX, MoveY float32
	Buttons      uint8
	AimX, AimY   float32
	// ViewTick and ViewFrac are the view time of the input: the client was
	// drawing other entities ViewFrac (0 to 1) of the way from their state
	// at tick ViewTick to the next tick's. ViewTick 0: not given (the
	// server takes the input as seen at its own present). A client sends
	// them with every input that presses an aimed action; the server
	// trusts them only within its rewind bound.
	ViewTick uint32
	ViewFrac float32
}

// Pressed reports whether the button of bit (an Action's Bit) is down.
func (in *Input) Pressed(bit uint8) bool { return bit < 8 && in.Buttons&(1<<bit) != 0 }

// MaxModeName is the longest mode name a queue message may carry.
const MaxModeName = 16

// MaxMatchID is the longest match ID a spectate message may carry.
const MaxMatchID = 64

// ClientMsg is one decoded client frame. Only the fields of its Type are set.
type ClientMsg struct {
	Type uint8
	// hello
	MinVersion, MaxVersion uint32
	// queue
	Mode string
	// spectate: the match to watch, and whom to follow in it: the entity
	// ID of a player's avatar, or 0 for the whole world.
	MatchID string
	Follow  uint32
	// input
	Input Input
	// inputs: Batch[:BatchLen], in the order sent. Batch has room for
	// MaxBatch inputs once a ClientMsg has decoded a batch (only a client
	// resending after a resume sends one): a connection that never does
	// keeps 1.5 KB less.
	Batch    []Input
	BatchLen int
	// ping: the client's clock, and the MessagePack value it came in
	// (ClientTimeRaw[:ClientTimeLen]), which a pong echoes as given.
	ClientTime    float64
	ClientTimeRaw [9]byte
	ClientTimeLen uint8
}

// RawClientTime returns the ping's clientTime exactly as the client encoded
// it (an integer or a float of any width), for the pong to echo.
func (m *ClientMsg) RawClientTime() []byte { return m.ClientTimeRaw[:m.ClientTimeLen] }

// DecodeClient decodes one client frame into m. It is bounded: a frame never
// makes it allocate more than a mode name (at most MaxModeName bytes) or a
// match ID (at most MaxMatchID bytes). Every
// error wraps ErrMalformed.
func (r *Reader) DecodeClient(frame []byte, m *ClientMsg) error {
	n, typ, err := r.header(frame, 32)
	if err != nil {
		return err
	}
	m.Type = typ
	d := dec{r: r}
	need := 1
	switch m.Type {
	case MsgHello:
		need = 3
		if n < need {
			return errTruncated
		}
		m.MinVersion, m.MaxVersion = d.u32(), d.u32()
	case MsgQueue:
		need = 2
		if n < need {
			return errTruncated
		}
		var buf [MaxModeName]byte
		b := d.stringBytes(buf[:])
		if d.ok() && len(b) == 0 {
			d.fail(errRange)
		}
		m.Mode = string(b)
	case MsgInput:
		need = 7
		if n < need {
			return errTruncated
		}
		d.input(&m.Input)
		switch {
		case n == 8: // a view tick without its fraction
			d.fail(errTruncated)
		case n >= 9:
			need = 9
			d.viewTime(&m.Input)
		}
	case MsgPing:
		need = 2
		if n < need {
			return errTruncated
		}
		start := r.pos()
		m.ClientTime = d.float()
		// A number takes at most 9 bytes (0xcb and a float64).
		m.ClientTimeLen = uint8(copy(m.ClientTimeRaw[:], r.frame[start:r.pos()]))
	case MsgInputs:
		need = 2
		if n < need {
			return errTruncated
		}
		k := d.arrayLen(MaxBatch)
		if d.ok() && k == 0 {
			d.fail(errRange)
		}
		m.BatchLen = 0
		if d.ok() && m.Batch == nil {
			m.Batch = make([]Input, MaxBatch)
		}
		for i := 0; i < k && d.ok(); i++ {
			in := &m.Batch[i]
			switch l := d.arrayLen(8); {
			case !d.ok():
			case l == 6:
				d.input(in)
			case l == 8:
				d.input(in)
				d.viewTime(in)
			default:
				d.fail(errTruncated)
			}
			if d.ok() && i > 0 && m.Batch[i].Seq <= m.Batch[i-1].Seq {
				d.fail(errRange)
			}
			if d.ok() {
				m.BatchLen = i + 1
			}
		}
	case MsgSpectate:
		need = 2
		if n < need {
			return errTruncated
		}
		var buf [MaxMatchID]byte
		b := d.stringBytes(buf[:])
		if d.ok() && len(b) == 0 {
			d.fail(errRange)
		}
		m.MatchID = string(b)
		m.Follow = 0
		if n >= 3 {
			need = 3
			m.Follow = d.u32()
		}
	case MsgLeave:
	default:
		return errUnknown
	}
	d.skipRest(n - need)
	if d.err != nil {
		return d.err
	}
	return r.End()
}

// input reads the fields of an input, after its type.
func (d *dec) input(in *Input) {
	seq := d.u32()
	if d.ok() && seq == 0 {
		d.fail(errRange)
	}
	in.Seq = seq
	in.MoveX = clampFloat32(d.float())
	in.MoveY = clampFloat32(d.float())
	in.Buttons = d.u8()
	in.AimX = clampFloat32(d.float())
	in.AimY = clampFloat32(d.float())
	in.ViewTick, in.ViewFrac = 0, 0
}

// viewTime reads an input's view time, after its other fields: a tick and
// a fraction, which is clamped to [0, 1]. Tick 0 is "not given": its
// fraction is dropped, as AppendInput would not send it.
func (d *dec) viewTime(in *Input) {
	in.ViewTick = d.u32()
	in.ViewFrac = float32(min(max(d.float(), 0), 1))
	if in.ViewTick == 0 {
		in.ViewFrac = 0
	}
}

// clampFloat32 converts a finite float64 to a finite float32.
func clampFloat32(v float64) float32 {
	return float32(max(-math.MaxFloat32, min(math.MaxFloat32, v)))
}

// AppendHello appends a hello frame asking for versions lo..hi.
func AppendHello(dst []byte, lo, hi uint32) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgHello)
	dst = appendUint(dst, uint64(lo))
	return appendUint(dst, uint64(hi))
}

// AppendQueue appends a queue frame for mode.
func AppendQueue(dst []byte, mode string) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgQueue)
	return appendString(dst, mode)
}

// AppendInput appends an input frame: with its view time when it has one
// (ViewTick not 0).
func AppendInput(dst []byte, in *Input) []byte {
	n := 7
	if in.ViewTick != 0 {
		n = 9
	}
	dst = appendArray(dst, n)
	dst = appendUint(dst, MsgInput)
	return appendInputFields(dst, in)
}

// appendInputFields appends the fields of in after its type: seq, move,
// buttons, aim and, if in has one, its view time.
func appendInputFields(dst []byte, in *Input) []byte {
	dst = appendUint(dst, uint64(in.Seq))
	dst = appendFloat32(dst, in.MoveX)
	dst = appendFloat32(dst, in.MoveY)
	dst = appendUint(dst, uint64(in.Buttons))
	dst = appendFloat32(dst, in.AimX)
	dst = appendFloat32(dst, in.AimY)
	if in.ViewTick != 0 {
		dst = appendUint(dst, uint64(in.ViewTick))
		dst = appendFloat32(dst, in.ViewFrac)
	}
	return dst
}

// AppendInputs appends an inputs frame carrying ins (1 to MaxBatch of
// them, in increasing seq order).
func AppendInputs(dst []byte, ins []Input) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgInputs)
	dst = appendArray(dst, len(ins))
	for i := range ins {
		in := &ins[i]
		if in.ViewTick != 0 {
			dst = appendArray(dst, 8)
		} else {
			dst = appendArray(dst, 6)
		}
		dst = appendInputFields(dst, in)
	}
	return dst
}

// AppendPing appends a ping frame carrying the client's clock t.
func AppendPing(dst []byte, t float64) []byte {
	dst = appendArray(dst, 2)
	dst = appendUint(dst, MsgPing)
	return appendFloat(dst, t)
}

// AppendSpectate appends a spectate frame: watch match matchID, following
// the player whose avatar is entity follow (0: the whole world).
func AppendSpectate(dst []byte, matchID string, follow uint32) []byte {
	dst = appendArray(dst, 3)
	dst = appendUint(dst, MsgSpectate)
	dst = appendString(dst, matchID)
	return appendUint(dst, uint64(follow))
}

// AppendLeave appends a leave frame.
func AppendLeave(dst []byte) []byte {
	dst = appendArray(dst, 1)
	return appendUint(dst, MsgLeave)
}
