package bench

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"strings"
)

// DetectMachine describes the machine this process runs on, for the report:
// the CPU model from /proc/cpuinfo (the architecture when there is none, as
// on many ARM boards), the logical CPUs Go may use, the Go version, OS/arch
// and host name.
func DetectMachine() Machine {
	cpu := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		cpu = cpuModel(f)
		f.Close()
	}
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	host, _ := os.Hostname() // a report without a host name is still a report
	return Machine{
		CPU:       cpu,
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Host:      host,
	}
}

// cpuModel returns the first "model name" in a /proc/cpuinfo listing, with
// its runs of spaces collapsed, or "" when there is none.
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}
