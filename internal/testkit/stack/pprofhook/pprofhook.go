// Package pprofhook lets `make bench` profile the real api and worker
// programs. The benchmark builds them with one extra file, added through
// `go build -overlay` so that their sources stay untouched, which imports
// this package. It serves net/http/pprof only when VKYC_BENCH_PPROF_ADDR is
// set, and only on a loopback address: profiles show memory contents and
// must never be reachable from outside the machine.
package pprofhook

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// EnvAddr names the variable holding the loopback host:port to listen on.
const EnvAddr = "VKYC_BENCH_PPROF_ADDR"

func init() {
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "pprofhook: %s=%q is not a loopback host:port; profiling stays off\n", EnvAddr, addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pprofhook: listen on %s: %v; profiling stays off\n", addr, err)
		return
	}
	// Its own mux: the program's handlers never see these routes, and the
	// side-effect registrations of net/http/pprof on DefaultServeMux are
	// never served.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
}
