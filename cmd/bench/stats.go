package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// summary describes a distribution of durations, in milliseconds.
type summary struct {
	N    int     `json:"n"`
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// summarize uses the nearest-rank percentile: p99 of 200 samples is the
// 198th smallest, a value that was really observed.
func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return round(ms(s[max(i, 0)]), 2)
	}
	return summary{
		N: len(s), Min: round(ms(s[0]), 2), Mean: round(ms(sum)/float64(len(s)), 2),
		P50: rank(50), P90: rank(90), P95: rank(95), P99: rank(99), Max: round(ms(s[len(s)-1]), 2),
	}
}

// samples collects durations from many goroutines.
type samples struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
}

func (s *samples) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ds)
}

func msList(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = round(ms(d), 2)
	}
	return out
}

// errorCount tallies failures by message, so a run reports what went wrong
// without printing thousands of lines.
type errorCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *errorCount) add(err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	e.mu.Lock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[msg]++
	e.mu.Unlock()
}

func (e *errorCount) snapshot() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.n {
		out[k] = v
	}
	return out
}

// runPool runs job(i) for i in [0, n) on conc goroutines and returns the
// wall time from the first start to the last end.
func runPool(n, conc int, job func(worker, i int)) time.Duration {
	var next int
	var mu sync.Mutex
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range min(conc, n) {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				job(w, i)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
