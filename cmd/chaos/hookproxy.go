package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// hookProxy stands where a load balancer stands in production, between
// 100ms and the API replicas: the simulator posts its webhooks here and the
// proxy passes each to the next of its targets in turn (only the first API
// unless the two-replica class adds the second). A target that is down
// answers 502, which 100ms retries as it would a refused connection.
type hookProxy struct {
	srv     *http.Server
	base    string
	next    atomic.Uint64
	mu      sync.Mutex
	targets []*url.URL
	proxy   *httputil.ReverseProxy
}

func newHookProxy(targets ...string) (*hookProxy, error) {
	p := &hookProxy{}
	if err := p.setTargets(targets...); err != nil {
		return nil, err
	}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(p.pick())
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook proxy: %w", err)
	}
	p.base = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: p.proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *hookProxy) setTargets(targets ...string) error {
	us := make([]*url.URL, 0, len(targets))
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil {
			return err
		}
		us = append(us, u)
	}
	p.mu.Lock()
	p.targets = us
	p.mu.Unlock()
	return nil
}

func (p *hookProxy) pick() *url.URL {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.targets[int(p.next.Add(1)%uint64(len(p.targets)))] // #nosec G115 -- a handful of targets
}

func (p *hookProxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}
