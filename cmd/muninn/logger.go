package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
)

// Severity words of --min-log-severity, as cardano-tracer takes them, and
// the slog levels they map to (Notice sits between Info and Warn; the last
// three above Error).
var severities = []struct {
	word  string
	level slog.Level
}{
	{"Debug", slog.LevelDebug}, {"Info", slog.LevelInfo}, {"Notice", slog.LevelInfo + 2},
	{"Warning", slog.LevelWarn}, {"Error", slog.LevelError}, {"Critical", slog.LevelError + 4},
	{"Alert", slog.LevelError + 8}, {"Emergency", slog.LevelError + 12},
}

func parseSeverity(word string) (slog.Level, error) {
	for _, s := range severities {
		if s.word == word {
			return s.level, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use one of Debug, Info, Notice, Warning, Error, Critical, Alert, Emergency", word)
}

// newLogger returns the diagnostic logger: JSON lines on w, at level and
// above. Verbosity Maximum also shows Debug records (one per batch and per
// poll, set through level); Minimum sets hide, which hides the
// connection-interruption records, the ones that carry a "reason".
func newLogger(w io.Writer, level *slog.LevelVar, hide *atomic.Bool) *slog.Logger {
	return slog.New(hideInterruptions{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}), hide})
}

type hideInterruptions struct {
	slog.Handler
	on *atomic.Bool
}

func (h hideInterruptions) Handle(ctx context.Context, r slog.Record) error {
	if !h.on.Load() {
		return h.Handler.Handle(ctx, r)
	}
	interruption := false
	r.Attrs(func(a slog.Attr) bool {
		interruption = a.Key == "reason"
		return !interruption
	})
	if interruption {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h hideInterruptions) WithAttrs(as []slog.Attr) slog.Handler {
	return hideInterruptions{h.Handler.WithAttrs(as), h.on}
}

func (h hideInterruptions) WithGroup(name string) slog.Handler {
	return hideInterruptions{h.Handler.WithGroup(name), h.on}
}
