package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reportResources logs a Resources record every period until ctx ends:
// CPU time, GC, heap, resident memory and goroutines, as cardano-tracer's
// resourceFreq does for its own process.
func reportResources(ctx context.Context, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		cpu := time.Duration(0)
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
			cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
		log.Info("Resources",
			"cpu", cpu.Round(time.Millisecond).String(),
			"gcs", ms.NumGC,
			"gcPause", time.Duration(ms.PauseTotalNs).Round(time.Microsecond).String(),
			"heapAlloc", ms.HeapAlloc,
			"heapSys", ms.HeapSys,
			"rss", residentBytes(),
			"goroutines", runtime.NumGoroutine())
	}
}

// residentBytes reads the resident set size from /proc (0 where absent).
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
