package muxproto

import "fmt"

// framer finds where one CBOR data item ends in a byte stream that grows
// an SDU at a time. It checks well-formedness (RFC 8949 §5.3.1) as it goes
// and keeps its place between calls, so each byte of a message is examined
// once however many SDUs the message spans; only an item header cut by an
// SDU boundary (at most 9 bytes) is looked at again.
type framer struct {
	off      int     // bytes of the current item scanned so far
	skip     uint64  // content bytes of a definite string still to pass
	afterTag bool    // the last header was a tag, so a data item must follow
	stack    []frame // open containers, innermost last
	maxDepth int
}

type frame struct {
	remaining uint64 // items still due in a definite array or map
	major     byte   // 2 or 3 (indefinite string), 4 (array) or 5 (map)
	indef     bool
	odd       bool // indefinite map: an odd number of items so far
}

// reset prepares the framer for the next message, keeping its stack's
// storage.
func (f *framer) reset() {
	f.off, f.skip, f.afterTag = 0, 0, false
	f.stack = f.stack[:0]
}

// scan continues over buf, which holds the current message from its first
// byte. It returns n > 0 when buf[:n] is one complete item, and 0 when more
// bytes are needed. After n > 0 the framer is ready for the next message,
// whose first byte is buf[n].
func (f *framer) scan(buf []byte) (int, error) {
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
			if f.complete() {
				return f.finish(), nil
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
			if f.complete() {
				return f.finish(), nil
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
		if f.complete() {
			return f.finish(), nil
		}
	}
}

func (f *framer) push(fr frame) error {
	if len(f.stack) >= f.maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrMalformedCBOR, f.maxDepth)
	}
	f.stack = append(f.stack, fr)
	return nil
}

// breakCode checks that a break (0xff) closes an indefinite item and pops it.
func (f *framer) breakCode() error {
	n := len(f.stack)
	switch {
	case f.afterTag:
		return fmt.Errorf("%w: break after a tag at offset %d", ErrMalformedCBOR, f.off)
	case n == 0 || !f.stack[n-1].indef:
		return fmt.Errorf("%w: break outside an indefinite item at offset %d", ErrMalformedCBOR, f.off)
	case f.stack[n-1].odd:
		return fmt.Errorf("%w: indefinite map with a key and no value at offset %d", ErrMalformedCBOR, f.off)
	}
	f.stack = f.stack[:n-1]
	return nil
}

// complete records that an item (or a string chunk) has just ended and
// reports whether that finished the top-level item.
func (f *framer) complete() bool {
	for n := len(f.stack); n > 0; n = len(f.stack) {
		top := &f.stack[n-1]
		if top.indef {
			if top.major == 5 {
				top.odd = !top.odd
			}
			return false
		}
		top.remaining--
		if top.remaining > 0 {
			return false
		}
		f.stack = f.stack[:n-1]
	}
	return true
}

func (f *framer) finish() int {
	n := f.off
	f.reset()
	return n
}
