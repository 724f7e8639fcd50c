package store

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"sync"
)

// Records are compressed before sealing once they are large: Entra ID access and
// refresh tokens alone run to 3–4 KB, and Redis memory per linked person is a
// budget (4 KB). Compression before encryption leaks plaintext size; that matters
// only where an attacker mixes chosen text with someone else's secret and watches
// the ciphertext length. A record holds one person's tokens and that person's own
// profile, so there is no such mix.
const (
	compressAbove  = 512       // smaller records stay plain JSON (no gain, less CPU)
	tagDeflate     = 'z'       // plaintext tag; plain JSON starts with '{'
	maxRecordBytes = 256 << 10 // an inflated record larger than this is refused
)

var errRecordTooLarge = errors.New("record inflates beyond the size limit")

// codec pools flate state: a flate.Writer costs ~600 KB to build and a reader ~40 KB,
// too much to allocate on every command.
type codec struct {
	writers sync.Pool // *flate.Writer
	readers sync.Pool // io.ReadCloser implementing flate.Resetter
}

// pack returns js, or a tagged deflate stream when that is smaller.
func (c *codec) pack(js []byte) []byte {
	if len(js) <= compressAbove {
		return js
	}
	var buf bytes.Buffer
	buf.Grow(len(js))
	buf.WriteByte(tagDeflate)
	w, _ := c.writers.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(&buf, flate.BestCompression) // level is valid: no error
	} else {
		w.Reset(&buf)
	}
	_, _ = w.Write(js) // bytes.Buffer writes do not fail
	_ = w.Close()
	c.writers.Put(w)
	if buf.Len() >= len(js) {
		return js
	}
	return buf.Bytes()
}

// unpack reverses pack.
func (c *codec) unpack(p []byte) ([]byte, error) {
	if len(p) == 0 || p[0] != tagDeflate {
		return p, nil
	}
	src := bytes.NewReader(p[1:])
	r, _ := c.readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	defer c.readers.Put(r)
	out, err := io.ReadAll(io.LimitReader(r, maxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxRecordBytes {
		return nil, errRecordTooLarge
	}
	return out, nil
}
