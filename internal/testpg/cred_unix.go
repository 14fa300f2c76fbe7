//go:build unix

package testpg

import "syscall"

// credential is what a server tool runs as.
type credential = syscall.Credential

// userCredential is the credential of user uid in group gid, and no other.
func userCredential(uid, gid uint32) *credential {
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
}
