//go:build !linux

package integration

import "syscall"

// childAttr: only Linux can tie a child's life to the test process; the
// cleanups still stop every child.
func childAttr() *syscall.SysProcAttr { return nil }
