//go:build unix

package ekg_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system. The
// benchmarks report it per operation as well as wall time, which a busy
// machine inflates.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
