package muxproto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

// refScan is the framer's first, straightforward scan, kept as the
// reference that FuzzFramerDiff holds scan to. Like scan, it continues
// over buf, which holds the current message from its first byte, and
// returns n > 0 when buf[:n] is one complete item, 0 when more bytes are
// needed.
func (f *framer) refScan(buf []byte) (int, error) {
	for {
		if f.skip > 0 {
			avail := uint64(len(buf) - f.off)
			if avail < f.skip {
				f.skip -= avail
				f.off = len(buf)
				return 0, nil
			}
			f.off += int(f.skip)
			f.skip = 0
			if f.closeItem() {
				return f.finishAt(f.off), nil
			}
			continue
		}
		if f.off >= len(buf) {
			return 0, nil
		}
		ib := buf[f.off]
		major, ai := ib>>5, ib&0x1f
		hl := 1
		switch {
		case ai < 24, ai == 31:
		case ai == 24:
			hl = 2
		case ai == 25:
			hl = 3
		case ai == 26:
			hl = 5
		case ai == 27:
			hl = 9
		default:
			return 0, fmt.Errorf("%w: reserved additional information %d at offset %d", ErrMalformedCBOR, ai, f.off)
		}
		if f.off+hl > len(buf) {
			return 0, nil // the header itself is cut; wait for more
		}
		var arg uint64
		if ai < 24 {
			arg = uint64(ai)
		} else {
			for _, b := range buf[f.off+1 : f.off+hl] {
				arg = arg<<8 | uint64(b)
			}
		}
		if ib == 0xff {
			if err := f.breakCode(); err != nil {
				return 0, err
			}
			f.off++
			if f.closeItem() {
				return f.finishAt(f.off), nil
			}
			continue
		}
		if n := len(f.stack); n > 0 && f.stack[n-1].indef && f.stack[n-1].major <= 3 {
			// Inside an indefinite string: only definite chunks of the
			// same major type may follow.
			if major != f.stack[n-1].major || ai == 31 {
				return 0, fmt.Errorf("%w: bad chunk in indefinite string at offset %d", ErrMalformedCBOR, f.off)
			}
		}
		f.afterTag = false
		f.off += hl
		switch major {
		case 0, 1:
			if ai == 31 {
				return 0, fmt.Errorf("%w: indefinite integer at offset %d", ErrMalformedCBOR, f.off-hl)
			}
		case 2, 3:
			if ai == 31 {
				if err := f.push(frame{major: major, indef: true}); err != nil {
					return 0, err
				}
				continue
			}
			if arg > 0 {
				f.skip = arg
				continue
			}
		case 4, 5:
			if ai == 31 {
				if err := f.push(frame{major: major, indef: true}); err != nil {
					return 0, err
				}
				continue
			}
			if major == 5 {
				if arg > 1<<62 {
					return 0, fmt.Errorf("%w: map length %d", ErrMalformedCBOR, arg)
				}
				arg *= 2
			}
			if arg > 0 {
				if err := f.push(frame{major: major, remaining: arg}); err != nil {
					return 0, err
				}
				continue
			}
		case 6:
			if ai == 31 {
				return 0, fmt.Errorf("%w: indefinite tag at offset %d", ErrMalformedCBOR, f.off-hl)
			}
			f.afterTag = true
			continue
		case 7:
			switch {
			case ai == 31:
				return 0, fmt.Errorf("%w: indefinite simple value at offset %d", ErrMalformedCBOR, f.off-hl)
			case ai == 24 && arg < 32:
				return 0, fmt.Errorf("%w: simple value %d in two bytes at offset %d", ErrMalformedCBOR, arg, f.off-hl)
			}
		}
		if f.closeItem() {
			return f.finishAt(f.off), nil
		}
	}
}

// FuzzFramerDiff holds scan to refScan: fed the same bytes in the same
// pieces, both find the same message boundaries, need more bytes at the
// same points and reject the same input.
func FuzzFramerDiff(f *testing.F) {
	for _, m := range reassemblyMessagesInternal() {
		f.Add(m, []byte{3, 200, 1})
	}
	f.Add([]byte{0x9f, 0x5f, 0x41, 0x00, 0xff, 0xbf, 0x01, 0xff, 0xff}, []byte{1})
	f.Add([]byte{0xd9, 0x03, 0xe8, 0xa2, 0x01, 0x1a, 0x65, 0x92, 0x00, 0x80, 0x2b, 0x1b, 0, 0, 0, 0x1c, 0xbe, 0x99, 0x1a, 0x08}, []byte{})
	f.Add([]byte{0xf8, 0x10}, []byte{0})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		fast, ref := framer{maxDepth: 8}, framer{maxDepth: 8}
		var bufF, bufR []byte
		for i := 0; len(stream) > 0; i++ {
			n := len(stream)
			if i < len(cuts) {
				n = min(n, 1+int(cuts[i]))
			}
			bufF, bufR = append(bufF, stream[:n]...), append(bufR, stream[:n]...)
			stream = stream[n:]
			for len(bufF) > 0 {
				kf, errF := fast.scan(bufF)
				kr, errR := ref.refScan(bufR)
				if kf != kr || (errF == nil) != (errR == nil) {
					t.Fatalf("scan = %d, %v; reference %d, %v", kf, errF, kr, errR)
				}
				if errF != nil {
					if !errors.Is(errF, ErrMalformedCBOR) || errF.Error() != errR.Error() {
						t.Fatalf("scan error %q, reference %q", errF, errR)
					}
					return
				}
				if kf == 0 {
					break
				}
				bufF, bufR = bufF[kf:], bufR[kr:]
			}
		}
	})
}

// reassemblyMessagesInternal: a trace reply, an EKG response and a
// DataPoint reply, as the node sends them.
func reassemblyMessagesInternal() [][]byte {
	var out [][]byte
	for _, h := range []string{
		"820180",
		"82039f890081781f436861696e20657874656e6465642c206e6577207469703a2030613162326378ac7b226174223a22323032342d30312d30315430303a30303a30302e3132333435363738395a222c226e73223a22436861696e44422e416464426c6f636b4576656e742e4164646564546f43757272656e74436861696e222c2264617461223a7b226b696e64223a224164646564546f43757272656e74436861696e227d2c22736576223a224e6f74696365222c22746872656164223a223432222c22686f7374223a2272656c61792d31227d9f7829436861696e44422e416464426c6f636b4576656e742e4164646564546f43757272656e74436861696eff81028101d903e8a2011a659200802b1b0000001cbe991a086772656c61792d31623432ff",
		"820182009f826e7274732e67632e6e756d5f6763738200182a826c4d656d2e7265736964656e7482011a075bcd15826c6e6f64652e76657273696f6e82026631302e312e34ff",
		"82039f826143815f457b2261223a42317dffff",
	} {
		b, _ := hex.DecodeString(h)
		out = append(out, b)
	}
	return out
}

// BenchmarkFramerScan scans a 100-object trace reply, one SDU at a time.
func BenchmarkFramerScan(b *testing.B) {
	one := reassemblyMessagesInternal()[1]
	msg := []byte{0x82, 0x03, 0x9f}
	for range 100 {
		msg = append(msg, one[3:len(one)-1]...)
	}
	msg = append(msg, 0xff)
	fr := framer{maxDepth: 64}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		n := 0
		for end := DefaultSDUSize; n == 0; end += DefaultSDUSize {
			var err error
			if n, err = fr.scan(msg[:min(end, len(msg))]); err != nil {
				b.Fatal(err)
			}
		}
		if n != len(msg) {
			b.Fatalf("scan = %d, want %d", n, len(msg))
		}
	}
}
