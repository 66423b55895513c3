package logging

import (
	"github.com/coreos/go-systemd/v22/journal"

	"muninn/tracer"
)

// JournalSender sends one journal entry. MESSAGE and PRIORITY are passed
// as arguments; fields holds the other fields (SYSLOG_IDENTIFIER,
// NAMESPACE, THREAD, TIME). Send must not keep fields after it returns:
// the map is reused for the next entry.
type JournalSender interface {
	Send(message string, priority int, fields map[string]string) error
}

// systemdJournal sends to journald's native socket through go-systemd.
type systemdJournal struct{}

func (systemdJournal) Send(message string, priority int, fields map[string]string) error {
	return journal.Send(message, journal.Priority(priority), fields)
}

func journalEnabled() bool { return journal.Enabled() }

// journalSink is one NodeLog's output to one JournalMode entry.
type journalSink struct {
	format  Format
	failing bool
}

// sendJournal sends one entry per object (d.5). An entry journald refuses
// is dropped and counted; the journal never holds up file logging.
func (n *NodeLog) sendJournal(j *journalSink, batch []tracer.TraceObject) {
	if n.fields == nil {
		n.fields = make(map[string]string, 4)
	}
	for i := range batch {
		o := &batch[i]
		journalFields(n.fields, n.node.Name, o)
		err := n.gen.journal.Send(lineText(j.format, o), journalPriority(o.Severity), n.fields)
		if err != nil {
			n.journalErrors.Add(1)
			if !j.failing {
				j.failing = true
				n.log.Warn("journal entry not sent; dropping entries until journald accepts them", "err", err)
			}
			continue
		}
		if j.failing {
			j.failing = false
			n.log.Info("journal entries are sent again", "count", n.journalErrors.Load())
		}
	}
	clear(n.fields) // keep no text of the batch beyond it
}

// journalFields fills the fields of one object, except MESSAGE and
// PRIORITY.
func journalFields(m map[string]string, name string, o *tracer.TraceObject) {
	ns := o.NamespaceString()
	if ns == "" {
		ns = "noname"
	}
	m["SYSLOG_IDENTIFIER"] = name
	m["NAMESPACE"] = ns
	m["THREAD"] = digitsOnly(o.ThreadID)
	m["TIME"] = journalTime(o.Timestamp)
}

// journalPriority maps a severity to syslog's scale: Emergency 0 … Debug 7.
func journalPriority(s tracer.Severity) int {
	if s > tracer.Emergency {
		return 6 // cannot come off the wire; Info as a neutral choice
	}
	return int(tracer.Emergency - s)
}

// digitsOnly keeps the ASCII digits of s ("ThreadId 42" → "42").
func digitsOnly(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			b := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if s[j] >= '0' && s[j] <= '9' {
					b = append(b, s[j])
				}
			}
			return string(b)
		}
	}
	return s
}

const picosPerSecond = 1_000_000_000_000

// journalTime renders a timestamp as cardano-tracer's "%F %T%12QZ": the
// date, the time, a dot and exactly twelve fraction digits (Haskell's %Q
// with a width pads to the width), and Z.
func journalTime(u tracer.UTCTime) string {
	sec, pico := u.Sec, u.Pico
	if pico >= picosPerSecond {
		sec += int64(pico / picosPerSecond) // Haskell carries into seconds
		pico %= picosPerSecond
	}
	var b [40]byte
	out := tracer.UTCTime{Sec: sec}.Time().AppendFormat(b[:0], "2006-01-02 15:04:05")
	var frac [13]byte
	frac[0] = '.'
	for i := 12; i > 0; i-- {
		frac[i] = byte('0' + pico%10)
		pico /= 10
	}
	out = append(out, frac[:]...)
	out = append(out, 'Z')
	return string(out)
}
