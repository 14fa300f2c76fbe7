package bench

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	const info = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R)  Platinum 8259CL CPU @ 2.50GHz\n\nprocessor\t: 1\nmodel name\t: Other\n"
	if got, want := cpuModel(strings.NewReader(info)), "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"; got != want {
		t.Fatalf("cpuModel = %q, want %q", got, want)
	}
	if got := cpuModel(strings.NewReader("processor\t: 0\nHardware\t: BCM2835\n")); got != "" {
		t.Fatalf("cpuModel without model name = %q", got)
	}
}

func TestDetectMachine(t *testing.T) {
	m := DetectMachine()
	if m.CPU == "" || m.Cores != runtime.NumCPU() || m.GoVersion != runtime.Version() ||
		m.OS != runtime.GOOS || m.Arch != runtime.GOARCH {
		t.Fatalf("DetectMachine = %+v", m)
	}
	if host, err := os.Hostname(); err == nil && m.Host != host {
		t.Fatalf("host %q, want %q", m.Host, host)
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if want := cpuModel(strings.NewReader(string(b))); want != "" && m.CPU != want {
			t.Fatalf("cpu %q, want %q", m.CPU, want)
		}
	}
}
