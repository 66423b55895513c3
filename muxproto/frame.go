package muxproto

import (
	"encoding/binary"
	"fmt"
)

// framer finds where one CBOR data item ends in a byte stream that grows
// an SDU at a time. It checks well-formedness (RFC 8949 §5.3.1) as it goes
// and keeps its place between calls, so each byte of a message is examined
// once however many SDUs the message spans; only an item header cut by an
// SDU boundary (at most 9 bytes) is looked at again.
type framer struct {
	off      int     // bytes of the current item scanned so far
	skip     uint64  // content bytes of a definite string still to pass
	afterTag bool    // the last header was a tag, so a data item must follow
	inString bool    // the innermost open item is an indefinite string
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
	f.off, f.skip, f.afterTag, f.inString = 0, 0, false, false
	f.stack = f.stack[:0]
}

// scan continues over buf, which holds the current message from its first
// byte. It returns n > 0 when buf[:n] is one complete item, and 0 when more
// bytes are needed. After n > 0 the framer is ready for the next message,
// whose first byte is buf[n].
//
// It is the demultiplexer's inner loop over every byte a node sends, so
// the position lives in a local and the common item (a definite one
// inside a definite container) ends without a call.
func (f *framer) scan(buf []byte) (int, error) {
	off := f.off
	for {
		if f.skip > 0 {
			avail := uint64(len(buf) - off)
			if avail < f.skip {
				f.skip -= avail
				f.off = len(buf)
				return 0, nil
			}
			off += int(f.skip)
			f.skip = 0
		} else {
			if off >= len(buf) {
				f.off = off
				return 0, nil
			}
			ib := buf[off]
			major, ai := ib>>5, ib&0x1f
			var arg uint64
			if ai < 24 {
				arg = uint64(ai)
				off++
			} else {
				if ai > 27 && ai != 31 {
					f.off = off
					return 0, fmt.Errorf("%w: reserved additional information %d at offset %d", ErrMalformedCBOR, ai, off)
				}
				hl := headerLen(ai)
				if off+hl > len(buf) {
					f.off = off
					return 0, nil // the header itself is cut; wait for more
				}
				switch hl {
				case 2:
					arg = uint64(buf[off+1])
				case 3:
					arg = uint64(binary.BigEndian.Uint16(buf[off+1:]))
				case 5:
					arg = uint64(binary.BigEndian.Uint32(buf[off+1:]))
				case 9:
					arg = binary.BigEndian.Uint64(buf[off+1:])
				}
				if ib == 0xff {
					f.off = off
					if err := f.breakCode(); err != nil {
						return 0, err
					}
					off++
					if f.closeItem() {
						return f.finishAt(off), nil
					}
					continue
				}
				off += hl
			}
			if f.inString {
				// Inside an indefinite string: only definite chunks of the
				// same major type may follow.
				if major != f.stack[len(f.stack)-1].major || ai == 31 {
					f.off = off
					return 0, fmt.Errorf("%w: bad chunk in indefinite string at offset %d", ErrMalformedCBOR, off-headerLen(ai))
				}
			}
			f.afterTag = false
			switch major {
			case 0, 1:
				if ai == 31 {
					return 0, fmt.Errorf("%w: indefinite integer at offset %d", ErrMalformedCBOR, off-1)
				}
			case 2, 3:
				if ai == 31 {
					if err := f.push(frame{major: major, indef: true}); err != nil {
						return 0, err
					}
					continue
				}
				if arg > uint64(len(buf)-off) {
					f.skip = arg // the string goes on in a later SDU
					continue
				}
				off += int(arg)
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
					return 0, fmt.Errorf("%w: indefinite tag at offset %d", ErrMalformedCBOR, off-1)
				}
				f.afterTag = true
				continue
			case 7:
				switch {
				case ai == 31:
					return 0, fmt.Errorf("%w: indefinite simple value at offset %d", ErrMalformedCBOR, off-1)
				case ai == 24 && arg < 32:
					return 0, fmt.Errorf("%w: simple value %d in two bytes at offset %d", ErrMalformedCBOR, arg, off-2)
				}
			}
		}
		// An item (or a string chunk) has just ended.
		if n := len(f.stack); n > 0 {
			if top := &f.stack[n-1]; !top.indef && top.remaining > 1 {
				top.remaining--
				continue
			}
		}
		if f.closeItem() {
			return f.finishAt(off), nil
		}
	}
}

// headerLen is the length of an item header with additional information
// ai (a valid one: below 28, or 31).
func headerLen(ai byte) int {
	switch ai {
	case 24:
		return 2
	case 25:
		return 3
	case 26:
		return 5
	case 27:
		return 9
	}
	return 1
}

func (f *framer) push(fr frame) error {
	if len(f.stack) >= f.maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrMalformedCBOR, f.maxDepth)
	}
	f.stack = append(f.stack, fr)
	f.inString = fr.indef && fr.major <= 3
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
	f.inString = false // strings hold only chunks, so none is open below
	return nil
}

// closeItem records that an item (or a string chunk) has just ended and
// reports whether that finished the top-level item.
func (f *framer) closeItem() bool {
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

func (f *framer) finishAt(off int) int {
	f.reset()
	return off
}
