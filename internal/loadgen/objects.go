package loadgen

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"muninn/muxproto"
	"muninn/tracer"
)

// Fixed widths of the patched numbers in pre-encoded objects: a uint64
// has at most 20 digits, and Unix nanoseconds have 19 from 2001 to 2262.
// Leading spaces fill the width: JSON whitespace, never leading zeros.
const (
	seqWidth      = 20
	enqueuedWidth = 19
	atLayout      = "2006-01-02T15:04:05.000000000Z"
	atWidth       = len(atLayout)
	padMember     = `,"pad":""` // the pad member without its content
)

// builder makes one node's encoded trace objects. It is owned by one
// goroutine at a time.
type builder struct {
	host     string
	hostJSON string // host as a JSON string, quotes included
	pre      bool
	tmpl     []*template // per kind, built on first use (pre-encoded mode)
	hint     []int       // per kind, the largest encoded object so far
	clock    atClock
}

func newBuilder(host string, pre bool) *builder {
	return &builder{host: host, hostJSON: jsonString(host), pre: pre,
		tmpl: make([]*template, len(kinds)), hint: make([]int, len(kinds))}
}

// jsonString returns s as a JSON string, escaping only what JSON requires
// (and what encoding/json always escapes: U+2028, U+2029, invalid UTF-8).
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // a Go string always encodes
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// sizeHint is about the encoded size of an object of kind k.
func (b *builder) sizeHint(k int) int {
	if h := b.hint[k]; h > 0 {
		return h
	}
	return classBytes[kinds[k].class] + 512
}

// appendObject appends the encoded object of kind k with sequence number
// seq, enqueued at now, to dst.
func (b *builder) appendObject(dst []byte, k int, seq uint64, now time.Time) []byte {
	out := b.encode(dst, k, seq, now)
	b.hint[k] = max(b.hint[k], len(out)-len(dst))
	return out
}

func (b *builder) encode(dst []byte, k int, seq uint64, now time.Time) []byte {
	if b.pre {
		if now.UnixNano() >= 1e18 { // 19 digits: fits enqueuedWidth
			t := b.tmpl[k]
			if t == nil {
				t = b.template(k)
				b.tmpl[k] = t
			}
			return t.appendObject(dst, seq, now, &b.clock)
		}
	}
	o := b.object(k, seq, now, false)
	return tracer.AppendTraceObject(dst, &o)
}

// object builds the trace object of kind k. When fixed is set, seq and the
// enqueue time are padded to fixed widths, as a template needs.
func (b *builder) object(k int, seq uint64, now time.Time, fixed bool) tracer.TraceObject {
	kd := &kinds[k]
	thread := strconv.FormatUint(40+seq%8, 10)
	m := make([]byte, 0, classBytes[kd.class]+64)
	m = append(m, `{"at":"`...)
	m = now.UTC().AppendFormat(m, atLayout)
	m = append(m, `","ns":"`...)
	m = append(m, kd.ns...)
	m = append(m, `","data":{"kind":"`...)
	m = append(m, kd.ns[lastDot(kd.ns)+1:]...)
	m = append(m, '"')
	m = append(m, kd.data(seq)...)
	padAt := len(m)
	m = append(m, `,"seq":`...)
	if fixed {
		m = appendPadded(m, seq, seqWidth)
	} else {
		m = strconv.AppendUint(m, seq, 10)
	}
	m = append(m, `,"enqueued":`...)
	if fixed {
		m = appendPadded(m, uint64(now.UnixNano()), enqueuedWidth)
	} else {
		m = strconv.AppendInt(m, now.UnixNano(), 10)
	}
	m = append(m, `},"sev":"`...)
	m = append(m, kd.sev.String()...)
	m = append(m, `","thread":"`...)
	m = append(m, thread...)
	m = append(m, `","host":`...)
	m = append(m, b.hostJSON...)
	m = append(m, '}')
	if n := classBytes[kd.class] - len(m) - len(padMember); n > 0 {
		m = insertPad(m, padAt, n)
	}
	o := tracer.TraceObject{
		Machine:   string(m),
		Namespace: []string{kd.ns},
		Severity:  kd.sev,
		Detail:    tracer.DNormal,
		Timestamp: tracer.TimeOf(now),
		Hostname:  b.host,
		ThreadID:  thread,
	}
	if kd.human != nil {
		o.Human, o.HasHuman = kd.human(seq), true
	}
	return o
}

// insertPad inserts a "pad" member of n characters at i.
func insertPad(m []byte, i, n int) []byte {
	const fill = "0123456789abcdef"
	pad := make([]byte, 0, len(padMember)+n)
	pad = append(pad, padMember[:len(padMember)-1]...)
	for len(pad) < len(padMember)-1+n {
		pad = append(pad, fill[len(pad)%len(fill)])
	}
	pad = append(pad, '"')
	out := make([]byte, 0, len(m)+len(pad))
	out = append(append(append(out, m[:i]...), pad...), m[i:]...)
	return out
}

// template is an encoded object of one kind for one node, up to (not
// including) its timestamp, with the offsets of the text to patch. The
// timestamp is appended afresh (its CBOR length varies), then the constant
// host name and thread id.
type template struct {
	prefix                []byte
	atOff, seqOff, enqOff int
	hostThread            []byte
}

func (b *builder) template(k int) *template {
	now := time.Unix(1700000000, 0)
	o := b.object(k, 0, now, true)
	full := tracer.AppendTraceObject(nil, &o)
	hostThread := muxproto.AppendText(muxproto.AppendText(nil, o.Hostname), o.ThreadID)
	tail := len(tracer.AppendUTCTime(nil, o.Timestamp)) + len(hostThread)
	t := &template{prefix: full[:len(full)-tail], hostThread: hostThread}
	t.atOff = bytes.Index(t.prefix, []byte(`{"at":"`)) + len(`{"at":"`)
	t.seqOff = bytes.Index(t.prefix, []byte(`"seq":`)) + len(`"seq":`)
	t.enqOff = bytes.Index(t.prefix, []byte(`"enqueued":`)) + len(`"enqueued":`)
	return t
}

func (t *template) appendObject(dst []byte, seq uint64, now time.Time, c *atClock) []byte {
	start := len(dst)
	dst = append(dst, t.prefix...)
	p := dst[start:]
	c.put(p[t.atOff:t.atOff+atWidth], now)
	putPadded(p[t.seqOff:t.seqOff+seqWidth], seq)
	putPadded(p[t.enqOff:t.enqOff+enqueuedWidth], uint64(now.UnixNano()))
	dst = tracer.AppendUTCTime(dst, tracer.TimeOf(now))
	return append(dst, t.hostThread...)
}

// appendPadded appends v right-aligned in width characters, spaces first.
func appendPadded(b []byte, v uint64, width int) []byte {
	for range width {
		b = append(b, ' ')
	}
	putPadded(b[len(b)-width:], v)
	return b
}

// putPadded writes v right-aligned into dst, filling the left with spaces.
// v must fit.
func putPadded(dst []byte, v uint64) {
	i := len(dst) - 1
	for ; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	for i--; i >= 0; i-- {
		dst[i] = ' '
	}
}

// atClock writes "at" times, formatting the date and second only when the
// second changes.
type atClock struct {
	sec  int64
	head []byte // "2006-01-02T15:04:05." of sec
}

// put writes t in atLayout into dst, which is atWidth bytes long.
func (c *atClock) put(dst []byte, t time.Time) {
	t = t.UTC()
	if s := t.Unix(); c.head == nil || s != c.sec {
		c.sec = s
		c.head = t.AppendFormat(c.head[:0], "2006-01-02T15:04:05.")
	}
	copy(dst, c.head)
	ns := t.Nanosecond()
	for i := atWidth - 2; i >= len(c.head); i-- {
		dst[i] = byte('0' + ns%10)
		ns /= 10
	}
	dst[atWidth-1] = 'Z'
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
