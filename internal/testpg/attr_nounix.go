//go:build !unix

package testpg

import "syscall"

// credential: these systems have no user to switch to here (a process is
// never root, os.Geteuid is -1), so a server tool runs as this process's
// user.
type credential struct{}

func userCredential(uid, gid uint32) *credential { return nil }

// procAttr runs a server tool as this process's user, with no
// parent-death signal: a test binary killed mid-test leaves its server
// running, to be stopped by hand.
func procAttr(*credential) *syscall.SysProcAttr { return nil }
