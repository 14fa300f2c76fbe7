package bus

import (
	"testing"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startServer starts an embedded server for one test and stops it after.
func startServer(tb testing.TB, opts ServerOptions) *Server {
	tb.Helper()
	s, err := StartServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Shutdown)
	return s
}

// connect opens an in-process client that is closed after the test.
func connect(tb testing.TB, s *Server) *nats.Conn {
	tb.Helper()
	nc, err := s.ConnectInProcess()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}
