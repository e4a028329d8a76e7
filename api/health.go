package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
)

// healthz says the process serves; it checks nothing else, so an outage of a
// dependency never gets the process restarted.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Error  *errorDetail      `json:"error,omitempty"`
}

// readyz checks every dependency in parallel, each within CheckTimeout, and
// names the ones that are down. Reasons stay in the logs: they can name
// hosts.
func (s *Server) readyz(c *gin.Context) {
	checks := map[string]func(context.Context) error{
		"postgres": s.d.Store.Ping,
		"temporal": func(ctx context.Context) error {
			_, err := s.d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		"object_storage": s.d.Blob.Ping,
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := readiness{Status: "ready", Checks: map[string]string{}}
	var down []string
	for name, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.Request.Context(), s.d.CheckTimeout)
			defer cancel()
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Checks[name] = "down"
				down = append(down, name)
				s.log.WarnContext(ctx, "readiness check failed", "dependency", name, "error", err)
				return
			}
			out.Checks[name] = "ok"
		})
	}
	wg.Wait()
	c.Header("Cache-Control", "no-store")
	if len(down) == 0 {
		c.JSON(http.StatusOK, out)
		return
	}
	slices.Sort(down)
	out.Status = "not_ready"
	out.Error = &errorDetail{Code: codeNotReady, Message: "dependencies down: " + strings.Join(down, ", ")}
	c.JSON(http.StatusServiceUnavailable, out)
}
