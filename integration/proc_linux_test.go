//go:build linux

package integration

import "syscall"

// childAttr makes the kernel kill a child if the test process dies
// without running its cleanups (a -timeout panic, a kill), so no
// muninn, forwarder or prometheus outlives the test.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
