package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sourceLimiter is a token bucket per source address (golang.org/x/time/rate
// does the arithmetic; this only keeps one bucket per address and forgets
// idle ones). A nil *sourceLimiter allows everything.
type sourceLimiter struct {
	perSecond rate.Limit
	burst     int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// sourceIdle is how long an address's bucket is kept after its last
// request; a full bucket forgotten is the same as a new one.
const sourceIdle = time.Minute

// newSourceLimiter allows perSecond requests a second per source with
// bursts of twice that (the events of a call come in bunches); 0 turns the
// limit off.
func newSourceLimiter(perSecond int) *sourceLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &sourceLimiter{perSecond: rate.Limit(perSecond), burst: 2 * perSecond, buckets: map[string]*bucket{}}
}

func (l *sourceLimiter) allow(source string, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > sourceIdle {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > sourceIdle {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[source]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.perSecond, l.burst)}
		l.buckets[source] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
