package bus

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
)

// ClusterOptions joins an embedded server to a NATS cluster: it listens for
// routes on Host:Port and dials Routes (nats-route://HOST:PORT URLs; its
// own address among them is ignored). Every member needs a distinct
// ServerOptions.Name and the same cluster Name. With JetStream, a cluster
// of 3 or 5 keeps a stream of that many replicas writable while one (or
// two) members are down.
type ClusterOptions struct {
	Name   string   // cluster name, the same on every member
	Host   string   // route listener's host; default DefaultHost
	Port   int      // route listener's port; RandomPort (-1) or 0 for a free one
	Routes []string // the other members' route URLs
}

// applyCluster sets the JetStream and cluster parts of nopts.
func (o *ServerOptions) applyCluster(nopts *server.Options) error {
	if o.JetStream {
		if o.StoreDir == "" {
			return errors.New("bus: JetStream needs a store directory")
		}
		nopts.JetStream, nopts.StoreDir = true, o.StoreDir
	}
	c := o.Cluster
	if c == nil {
		return nil
	}
	if c.Name == "" {
		return errors.New("bus: cluster needs a name")
	}
	host, port := c.Host, c.Port
	if host == "" {
		host = DefaultHost
	}
	if port == 0 {
		port = RandomPort
	}
	nopts.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: port}
	for _, r := range c.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return fmt.Errorf("bus: cluster route %q: want nats-route://HOST:PORT", r)
		}
		if _, err := strconv.Atoi(u.Port()); err != nil {
			return fmt.Errorf("bus: cluster route %q: bad port", r)
		}
		nopts.Routes = append(nopts.Routes, u)
	}
	return nil
}
