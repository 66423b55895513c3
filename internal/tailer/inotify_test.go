package tailer

import (
	"encoding/binary"
	"syscall"
	"testing"
)

func rawEvent(wd int32, mask uint32, name string, pad int) []byte {
	b := make([]byte, syscall.SizeofInotifyEvent+len(name)+pad)
	binary.NativeEndian.PutUint32(b[0:], uint32(wd))
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(len(name)+pad))
	copy(b[syscall.SizeofInotifyEvent:], name)
	return b
}

func TestNextEvent(t *testing.T) {
	t.Parallel()
	two := append(rawEvent(3, syscall.IN_MODIFY, "conn-1.json", 5), rawEvent(-1, syscall.IN_Q_OVERFLOW, "", 0)...)
	tests := []struct {
		name string
		buf  []byte
		want []event
	}{
		{"two, the first padded with NULs", two, []event{{3, syscall.IN_MODIFY, []byte("conn-1.json")}, {-1, syscall.IN_Q_OVERFLOW, nil}}},
		{"truncated header", two[:10], nil},
		{"truncated name", rawEvent(1, syscall.IN_CREATE, "node-x.json", 0)[:syscall.SizeofInotifyEvent+3], nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []event
			for buf := tt.buf; ; {
				ev, rest, ok := nextEvent(buf)
				if !ok {
					break
				}
				got, buf = append(got, ev), rest
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d events, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].wd != tt.want[i].wd || got[i].mask != tt.want[i].mask || string(got[i].name) != string(tt.want[i].name) {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// An overflow asks for a rescan before the period is up.
func TestOverflowRescans(t *testing.T) {
	t.Parallel()
	tl, err := New(Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tl.handleEvents(rawEvent(-1, syscall.IN_Q_OVERFLOW, "", 0))
	if !tl.rescanNow {
		t.Error("no rescan asked for")
	}
}
