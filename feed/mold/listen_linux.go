package mold

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenGroup binds a socket to group:port and joins the group on ifi (nil:
// the system's choice). net.ListenMulticastUDP binds 0.0.0.0:port instead,
// and Linux then hands the socket every group joined on that port by any
// socket of the host (IP_MULTICAST_ALL): an A line and a B line on two
// groups and one port would each read both, and another feed's group on the
// port would come in too. Bound to its group, with IP_MULTICAST_ALL off, a
// line reads its own group only.
func listenGroup(ua *net.UDPAddr, ifi *net.Interface) (*net.UDPConn, error) {
	var mreq unix.IPMreqn
	copy(mreq.Multiaddr[:], ua.IP.To4())
	if ifi != nil {
		mreq.Ifindex = int32(ifi.Index)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) {
			s := int(fd)
			if err = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				return
			}
			if err = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); err != nil {
				return
			}
			err = unix.SetsockoptIPMreqn(s, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &mreq)
		})
		if cerr != nil {
			return cerr
		}
		return err
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", ua.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}
