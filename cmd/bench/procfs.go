package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Linux /proc readings: memory and CPU time of the programs under test and
// of the services, and the machine's description. Everything here only
// reads, except resetPeakRSS, which writes to a child's own clear_refs.

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux platform Go supports.
const clockTicks = 100

// memKiB reads VmRSS and VmHWM (the peak since start or the last reset).
func memKiB(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmHWM:":
			peak, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, peak, nil
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux 4.0+), so that the
// peak of one phase can be read on its own.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// cpuSeconds is the user+system CPU time a process has used so far.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks, nil
}

func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func allPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// postgresPIDs are the postmaster of the data directory and its backends.
func postgresPIDs(pgData string) []int {
	if pgData == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid")) // #nosec G304 -- the data directory scripts/services.sh made
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return nil
	}
	pids := []int{master}
	for _, p := range allPIDs() {
		if parentOf(p) == master {
			pids = append(pids, p)
		}
	}
	return pids
}

// pidWithArg finds the process whose command line holds arg (the MinIO
// server of a data directory).
func pidWithArg(arg string) int {
	if arg == "" {
		return 0
	}
	for _, p := range allPIDs() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				return p
			}
		}
	}
	return 0
}

func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// cpuMeter sums the CPU time of named groups of processes between two
// readings, to show where a phase's CPU went. It works per process: one that
// started in between counts from zero, one that exited in between (a
// PostgreSQL backend) is lost, so PostgreSQL is a lower bound.
type cpuMeter struct {
	groups map[string]func() []int
	start  map[string]map[int]float64
}

func newCPUMeter(groups map[string]func() []int) *cpuMeter {
	return &cpuMeter{groups: groups}
}

func (m *cpuMeter) read() map[string]map[int]float64 {
	out := map[string]map[int]float64{}
	for name, f := range m.groups {
		out[name] = map[int]float64{}
		for _, p := range f() {
			if s, err := cpuSeconds(p); err == nil {
				out[name][p] = s
			}
		}
	}
	return out
}

func (m *cpuMeter) begin() { m.start = m.read() }

// since returns CPU seconds per group since begin.
func (m *cpuMeter) since() map[string]float64 {
	out := map[string]float64{}
	for name, pids := range m.read() {
		var sum float64
		for pid, s := range pids {
			sum += max(s-m.start[name][pid], 0)
		}
		out[name] = round(sum, 2)
	}
	return out
}

// machine describes where the figures were measured.
type machine struct {
	Cores     int       `json:"cores"`
	CPU       string    `json:"cpu"`
	MemoryMiB int64     `json:"memory_mib"`
	GoVersion string    `json:"go_version"`
	Kernel    string    `json:"kernel"`
	LoadStart []float64 `json:"load_average_at_start"`
	LoadEnd   []float64 `json:"load_average_at_end"`
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "MemTotal:" {
				kib, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemoryMiB = kib / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadStart = loadAverage()
	return m
}

func loadAverage() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	var out []float64
	for i := 0; i < 3 && i < len(f); i++ {
		v, _ := strconv.ParseFloat(f[i], 64)
		out = append(out, v)
	}
	return out
}
