package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/internal/gzipfile"
)

// playCapture plays a tickd capture: each source into its own Sink, each
// read paced by its receive time. The sources the previous capture file
// left open go on here if this one re-announces them.
func (p *Player) playCapture(ctx context.Context, path string) error {
	r, damage, err := OpenCapture(path, OpenOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer r.Close()
	for _, d := range damage {
		p.damage(path, d)
	}
	defer func() { // corrupt blocks met while reading (open checks only the tail)
		for _, d := range r.Damages()[len(damage):] {
			p.damage(path, d)
		}
	}()
	if first, last, ok := r.TimeRange(); ok {
		p.pEnd.Store(last)
		p.capFirst, p.capLast, p.capSize = first, last, p.sizes[p.pInput.Load()]
		defer func() { p.capLast = 0 }()
	}
	h := r.Header()
	isITCH := h.Format == "itch"
	var format feed.Format
	if !isITCH {
		if format, err = feed.ParseFormat(h.Format); err != nil {
			return fmt.Errorf("replay: %s: %w", path, err)
		}
	}
	if h.Format != p.carriedFormat {
		if err := p.endCarried(); err != nil {
			return err
		}
	}
	// carried: the previous file's sources not (yet) re-announced, while
	// this file's leading Open records last; nil after them.
	carried := p.carried
	p.carried = nil
	streams := map[uint16]*stream{}
	defer func() {
		// Sources still open at the end go on into the next file, or end
		// with the replay.
		p.endStreams(carried) // only when an error cut the re-announcements short
		p.carried, p.carriedFormat = streams, h.Format
	}()
	get := func(id uint16, name string) (*stream, error) {
		if s := streams[id]; s != nil {
			return s, nil
		}
		if name == "" {
			name = fmt.Sprintf("%s source %d", path, id)
		}
		s, err := p.openStream(name, id, isITCH, format, p.o.MaxAhead)
		if err != nil {
			return nil, err
		}
		streams[id] = s
		return s, nil
	}
	for {
		rec, err := r.Next()
		if carried != nil && (err != nil || rec.Kind != KindOpen) {
			// Past the re-announcements: a source not among them ended
			// with the previous file.
			eerr := p.endStreams(carried)
			if carried = nil; eerr != nil {
				return eerr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("replay: %s: %w", path, err)
		}
		switch rec.Kind {
		case KindOpen:
			if s := carried[rec.Source]; s != nil {
				delete(carried, rec.Source)
				if s.name == rec.Name { // re-announced: the stream goes on
					streams[rec.Source] = s
					continue
				}
				if err := p.endStream(s); err != nil {
					return err
				}
			}
			if s := streams[rec.Source]; s != nil {
				delete(streams, rec.Source)
				if err := p.endStream(s); err != nil {
					return err
				}
			}
			if _, err := get(rec.Source, rec.Name); err != nil {
				return err
			}
		case KindClose:
			if s := streams[rec.Source]; s != nil {
				delete(streams, rec.Source)
				if err := p.endStream(s); err != nil {
					return err
				}
			}
		case KindData:
			if err := p.playData(ctx, rec, get); err != nil {
				return err
			}
		}
	}
}

// playData plays a Data record of a capture into its source's stream.
func (p *Player) playData(ctx context.Context, rec Record, get func(uint16, string) (*stream, error)) error {
	s, err := get(rec.Source, "")
	if err != nil {
		return err
	}
	if err := p.gate(ctx); err != nil {
		return err
	}
	if err := p.pace(ctx, rec.Recv); err != nil {
		return err
	}
	p.msgs++
	p.nbytes += uint64(len(rec.Bytes))
	if s.raw != nil {
		if err := s.raw.Write(rec.Bytes); err != nil {
			return fmt.Errorf("replay: %s: %w", s.name, err)
		}
		return nil
	}
	if s.idec != nil {
		err = p.decodeITCH(s, s.name, -1, rec.Bytes)
	} else {
		s.recorded = rec.Recv
		s.fdec.SetAheadOf(rec.Recv)
		err = p.decodeChunk(s, rec.Bytes)
	}
	p.paceKept(rec.Recv)
	return err
}

// decodeITCH decodes one ITCH message into s. A rejected message is
// reported under name at offset, or (offset < 0) at its message number.
func (p *Player) decodeITCH(s *stream, name string, offset int64, msg []byte) error {
	room, err := p.room(s)
	if err != nil {
		return err
	}
	ok, derr := s.idec.Decode(msg, &room[0])
	if ok && p.keep(room[:1]) == 1 {
		s.k++
	}
	if derr != nil {
		c := s.idec.Counters()
		if offset < 0 {
			offset = int64(c.Messages)
		}
		p.report(name, offset, c.Messages, s.idec.Explain(msg, derr))
	}
	return nil
}

// decodeChunk decodes a read of a native or text stream into s, carrying a
// partial frame or line over to the next.
func (p *Player) decodeChunk(s *stream, b []byte) error {
	src := b
	if len(s.pending) > 0 {
		s.pending = append(s.pending, b...)
		src = s.pending
	}
	for len(src) > 0 {
		room, err := p.room(s)
		if err != nil {
			return err
		}
		n, c, derr := s.fdec.Decode(room, src)
		s.k += p.keep(room[:n])
		src = src[c:]
		if derr != nil {
			// Framing lost: the rest of this source is dropped, as live.
			src = nil
			break
		}
		if c == 0 {
			break
		}
	}
	s.pending = append(s.pending[:0], src...)
	return nil
}

// playITCH plays a NASDAQ ITCH file, each message paced by its event time.
func (p *Player) playITCH(ctx context.Context, path string) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	fr, err := itch.NewFileReader(countingReader{r: f, n: &p.curRead})
	if err != nil {
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	var midnight int64
	if !p.o.SessionDate.IsZero() {
		if midnight, err = itch.SessionMidnight(p.o.SessionDate); err != nil {
			return err
		}
	}
	s, err := p.openStream(path, 1, true, 0, 0)
	if err != nil {
		return err
	}
	defer func() {
		// Always: the Sink must be closed, even when it is shutting down.
		if eerr := p.endStream(s); err == nil {
			err = eerr
		}
	}()
	for {
		msg, rerr := fr.Next()
		if rerr != nil {
			if rerr != io.EOF {
				p.rejected++
				p.report(path, fr.Offset(), 0, rerr)
			}
			return nil
		}
		if err := p.gate(ctx); err != nil {
			return err
		}
		ts := itchTime(msg)
		if ts >= 0 {
			if err := p.pace(ctx, midnight+ts); err != nil {
				return err
			}
		}
		p.msgs++ // after its wait, as a capture's reads: an interrupted replay counts what it played
		p.nbytes += uint64(len(msg))
		if s.raw != nil {
			if err := s.raw.Write(msg); err != nil {
				return fmt.Errorf("replay: %s: %w", path, err)
			}
			continue
		}
		if err := p.decodeITCH(s, path, fr.Offset(), msg); err != nil {
			return err
		}
		if ts >= 0 {
			p.paceKept(midnight + ts)
		}
	}
}

// playFile plays a native, CSV or JSON file (plain or gzip), paced by
// event time.
func (p *Player) playFile(ctx context.Context, path string, format feed.Format) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	s, err := p.openStream(path, 1, false, format, 0)
	if err != nil {
		return err
	}
	defer func() {
		if eerr := p.endStream(s); err == nil {
			err = eerr
		}
	}()
	r, err := gunzipped(countingReader{r: f, n: &p.curRead})
	if err != nil {
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	buf := make([]byte, max(fileBuffer, 2*p.o.MaxFrame+2))
	lo, hi := 0, 0
	var read int64 // decompressed
	for {
		if lo > 0 {
			hi = copy(buf, buf[lo:hi])
			lo = 0
		}
		n, rerr := r.Read(buf[hi:])
		hi += n
		read += int64(n)
		p.nbytes += uint64(n)
		for lo < hi {
			c, err := p.decodeFile(ctx, s, buf[lo:hi])
			lo += c
			if err != nil {
				return err
			}
			if c == 0 {
				break
			}
		}
		if rerr == io.EOF {
			s.pending = append(s.pending[:0], buf[lo:hi]...) // endStream decodes an unterminated last line
			return nil
		}
		if errors.Is(rerr, ErrGzipTrailingGarbage) {
			// The gzip stream ended whole: its unterminated last line is
			// as played as at a plain end of file.
			s.pending = append(s.pending[:0], buf[lo:hi]...)
			return fmt.Errorf("replay: %s: %w (the %d bytes before it, decompressed, were played)", path, rerr, read)
		}
		if errors.Is(rerr, io.ErrUnexpectedEOF) { // only a gzip stream cut short ends so
			return fmt.Errorf("replay: %s: %w (its first %d bytes, decompressed, were played)", path, ErrGzipTruncated, read)
		}
		if rerr != nil {
			return fmt.Errorf("replay: %s: %w", path, rerr)
		}
	}
}

// ErrGzipTruncated is a gzip-compressed tick file's error when its gzip
// stream ends early, as a partial copy or download does.
var ErrGzipTruncated = errors.New("gzip stream ends early: the compressed file is truncated")

// ErrGzipTrailingGarbage is a gzip-compressed tick file's error when bytes
// follow its last gzip member that start no other (a newline appended, a
// padded copy): what the members held was played whole.
var ErrGzipTrailingGarbage = gzipfile.ErrTrailingGarbage

// decodeFile decodes from src: in bulk at max speed, else one event at a
// time so that each is paced by its event time. It returns the bytes used.
func (p *Player) decodeFile(ctx context.Context, s *stream, src []byte) (int, error) {
	if err := p.gate(ctx); err != nil {
		return 0, err
	}
	before := s.fdec.Stats().Frames
	defer func() { p.msgs += s.fdec.Stats().Frames - before }()
	if p.o.Speed == 0 && !p.paused.Load() {
		room, err := p.room(s)
		if err != nil {
			return 0, err
		}
		n, c, derr := s.fdec.Decode(room, src)
		if n > 0 {
			p.pos = room[n-1].TsEvent
			if !p.started {
				p.started, p.first = true, room[0].TsEvent
			}
		}
		s.k += p.keep(room[:n])
		if derr != nil {
			return len(src), nil // framing lost: drop the rest of the read
		}
		return c, nil
	}
	n, c, derr := s.fdec.Decode(p.one[:], src)
	if derr != nil {
		return len(src), nil
	}
	if n == 1 && p.keep(p.one[:]) == 1 {
		if err := p.pace(ctx, p.one[0].TsEvent); err != nil {
			return c, err
		}
		room, err := p.room(s)
		if err != nil {
			return c, err
		}
		ev := p.one[0]
		ev.TsRecv = p.o.Clock()
		room[0] = ev
		s.k++
	}
	return c, nil
}
