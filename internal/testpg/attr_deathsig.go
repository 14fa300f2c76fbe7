//go:build linux || freebsd

package testpg

import "syscall"

// procAttr runs a server tool as cred (nil: as this process's user) with
// SIGQUIT, PostgreSQL's immediate shutdown, as its parent-death signal. Go
// sets the death signal after the credentials, so a change of user does
// not clear it.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
