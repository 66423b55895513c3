package loadgen

import (
	"os"
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's percentage without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestRigGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "") // restored when the test ends
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	RigGC()
	if got := gcPercent(); got != RigGCPercent {
		t.Errorf("without GOGC: percentage %d, want %d", got, RigGCPercent)
	}

	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // what the runtime would have read at start
	RigGC()
	if got := gcPercent(); got != 150 {
		t.Errorf("with GOGC=150: percentage %d, want it left at 150", got)
	}
}
