package logging

import (
	"errors"
	"maps"
	"reflect"
	"testing"

	"muninn/tracer"
)

type journalCall struct {
	Message  string
	Priority int
	Fields   map[string]string
}

// fakeJournal records what it is sent; failing makes every Send fail.
type fakeJournal struct {
	calls   []journalCall
	failing bool
}

func (f *fakeJournal) Send(message string, priority int, fields map[string]string) error {
	if f.failing {
		return errors.New("journald is away")
	}
	f.calls = append(f.calls, journalCall{message, priority, maps.Clone(fields)})
	return nil
}

func TestJournal(t *testing.T) {
	t.Parallel()
	j := &fakeJournal{}
	root := t.TempDir()
	w := newWriter(t, Config{
		Entries: []Entry{
			{Mode: JournalMode, Format: ForHuman, Root: "ignored"},
			{Mode: JournalMode, Format: ForMachine},
			{Root: root, Format: ForMachine},
		},
		Journal: j,
	})
	n, err := w.Open(Node{Name: "tmp-forwardersock@0", Dir: "tmp-forwardersock_0"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	noName := tracer.TraceObject{
		Machine: `{"x":1}`, Severity: tracer.Emergency, ThreadID: "",
		Timestamp: tracer.UTCTime{Sec: 0, Pico: 1},
	}
	write(t, n, t13Object(), t14Object(), multiLineObject(), noName)

	fields := func(ns, thread, time string) map[string]string {
		return map[string]string{"SYSLOG_IDENTIFIER": "tmp-forwardersock@0", "NAMESPACE": ns, "THREAD": thread, "TIME": time}
	}
	f13 := fields("ChainDB.AddBlockEvent.AddedToCurrentChain", "42", "2024-01-01 00:00:00.123456789000Z")
	f14 := fields("Node.Demo", "7", "2024-01-01 00:00:01.000000000000Z")
	fml := fields("Net.PeerSelection.Counters", "55", "2024-01-01 00:00:02.500000000000Z")
	fno := fields("noname", "", "1970-01-01 00:00:00.000000000001Z")
	ml := multiLineObject()
	want := []journalCall{
		{"Chain extended, new tip: 0a1b2c", 5, f13},
		{t14Machine, 6, f14},
		{ml.Human, 6, fml},
		{`{"x":1}`, 0, fno},
		{t13Machine, 5, f13},
		{t14Machine, 6, f14},
		{ml.Machine, 6, fml},
		{`{"x":1}`, 0, fno},
	}
	if !reflect.DeepEqual(j.calls, want) {
		t.Errorf("journal got\n%+v\nwant\n%+v", j.calls, want)
	}

	j.failing = true
	write(t, n, t13Object(), t14Object())
	if st := n.Stats(); st.JournalErrors != 4 || st.Batches != 2 || st.Objects != 6 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestJournalFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   tracer.UTCTime
		want string
	}{
		{tracer.UTCTime{Sec: 1704067201}, "2024-01-01 00:00:01.000000000000Z"},
		{tracer.UTCTime{Sec: 1704067200, Pico: 123456789000}, "2024-01-01 00:00:00.123456789000Z"},
		{tracer.UTCTime{Sec: 1704067200, Pico: 999999999999}, "2024-01-01 00:00:00.999999999999Z"},
		{tracer.UTCTime{Sec: 1704067200, Pico: 2_500_000_000_000}, "2024-01-01 00:00:02.500000000000Z"},
		{tracer.UTCTime{Sec: 1784796967, Pico: 1}, "2026-07-23 08:56:07.000000000001Z"},
	} {
		if got := journalTime(tc.in); got != tc.want {
			t.Errorf("journalTime(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"42", "42"}, {"ThreadId 42", "42"}, {"", ""}, {"a1b2", "12"}, {"٣", ""},
	} {
		if got := digitsOnly(tc.in); got != tc.want {
			t.Errorf("digitsOnly(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for sev, want := range map[tracer.Severity]int{
		tracer.Debug: 7, tracer.Info: 6, tracer.Notice: 5, tracer.Warning: 4,
		tracer.Error: 3, tracer.Critical: 2, tracer.Alert: 1, tracer.Emergency: 0,
	} {
		if got := journalPriority(sev); got != want {
			t.Errorf("journalPriority(%v) = %d, want %d", sev, got, want)
		}
	}
}
