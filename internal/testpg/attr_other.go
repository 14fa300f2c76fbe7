//go:build unix && !linux && !freebsd

package testpg

import "syscall"

// procAttr runs a server tool as cred (nil: as this process's user). These
// systems have no parent-death signal: a test binary killed mid-test
// leaves its server running, to be stopped by hand.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
