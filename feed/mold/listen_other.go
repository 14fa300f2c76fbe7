//go:build !linux

package mold

import "net"

// listenGroup joins group ua on ifi (nil: the system's choice). Elsewhere
// than on Linux the standard library's join is used as it is.
func listenGroup(ua *net.UDPAddr, ifi *net.Interface) (*net.UDPConn, error) {
	return net.ListenMulticastUDP("udp4", ifi, ua)
}
