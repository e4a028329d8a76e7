package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
)

// options of one suite run.
type options struct {
	root     string // the repository
	workDir  string // "" for a temporary folder, removed afterwards
	keep     bool   // keep the work folder (logs) even when all passed
	classes  []int  // empty: all
	settings settings
	log      *slog.Logger
}

func shortSettings() settings {
	return settings{casesPerClass: 2, stagger: 1500 * time.Millisecond, caseDeadline: 90 * time.Second, pgOutage: 6 * time.Second,
		minioOutage: 10 * time.Second, temporalOutage: 3 * time.Second, bankPhase: 4 * time.Second, seed: 1}
}

func fullSettings() settings {
	return settings{casesPerClass: 24, stagger: time.Second, caseDeadline: 3 * time.Minute, pgOutage: 10 * time.Second,
		minioOutage: 15 * time.Second, temporalOutage: 5 * time.Second, bankPhase: 2 * time.Minute, seed: 1}
}

// suiteResult is a whole run.
type suiteResult struct {
	Started  time.Time
	Took     time.Duration
	Settings settings
	Classes  []*classResult
	WorkDir  string
}

func (s *suiteResult) ok() bool {
	for _, c := range s.Classes {
		if !c.ok() {
			return false
		}
	}
	return len(s.Classes) > 0
}

// runSuite starts a stack and runs the selected fault classes one after
// another, each with a fresh batch of cases.
func runSuite(ctx context.Context, o options) (*suiteResult, error) {
	res := &suiteResult{Started: time.Now(), Settings: o.settings}
	dir := o.workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "vkyc-chaos-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	res.WorkDir = dir
	// One stack per topology, started when its first class runs: the dev
	// stack of the driver's own processes, and scripts/prod-local.sh.
	stacks := map[string]*stack{}
	defer func() {
		for _, st := range stacks {
			st.close()
		}
	}()
	stackFor := func(topology string) (*stack, error) {
		if st := stacks[topology]; st != nil {
			return st, nil
		}
		var st *stack
		var err error
		if topology == topologyProd {
			sub := filepath.Join(dir, "prod")
			if err := os.MkdirAll(sub, 0o750); err != nil {
				return nil, err
			}
			st, err = newProdStack(ctx, o.root, sub, o.log)
		} else {
			st, err = newStack(ctx, o.root, dir, o.log)
		}
		if err != nil {
			return nil, err
		}
		stacks[topology] = st
		return st, nil
	}

	n := 0
	for _, cls := range classes() {
		if len(o.classes) > 0 && !slices.Contains(o.classes, cls.id) {
			continue
		}
		st, err := stackFor(cls.topology)
		if err != nil {
			return res, err
		}
		o.log.Info("fault class starts", "class", cls.id, "what", cls.title, "cases", o.settings.casesPerClass)
		cr, err := runClass(ctx, st, cls, o.settings, n)
		if err != nil {
			return res, fmt.Errorf("class %d (%s): %w", cls.id, cls.key, err)
		}
		n += o.settings.casesPerClass
		res.Classes = append(res.Classes, cr)
		o.log.Info("fault class done", "class", cls.id, "completed", cr.Completed, "cases", cr.Cases, "stuck", cr.Stuck,
			"duplicates", cr.Duplicates, "lost", cr.Lost, "slowest_recovery", cr.SlowestRecovery.Round(time.Millisecond).String(),
			"took", cr.Took.Round(time.Second).String())
		for _, what := range cr.Injected {
			o.log.Info("injected", "class", cls.id, "what", what)
		}
		for _, what := range cr.Measured {
			o.log.Info("measured", "class", cls.id, "what", what)
		}
		for _, p := range cr.Problems {
			o.log.Warn("finding", "class", cls.id, "problem", p)
		}
	}
	res.Took = time.Since(res.Started)
	if res.ok() && !o.keep && o.workDir == "" {
		for topology, st := range stacks {
			st.close()
			delete(stacks, topology)
		}
		_ = os.RemoveAll(dir)
		res.WorkDir = ""
	}
	return res, nil
}

func (s *stack) sim() *apiclient.Client {
	return s.client(s.apiBase)
}

// client is a client of the API at base and of the stack's simulator.
func (s *stack) client(base string) *apiclient.Client {
	return apiclient.NewClient(base, s.simBase, &http.Client{Timeout: 20 * time.Second})
}

// runClass runs one batch of cases with the class's faults and checks it.
func runClass(ctx context.Context, st *stack, cls *faultClass, set settings, first int) (*classResult, error) {
	start := time.Now()
	r := &classRun{
		cls: cls, st: st, set: set,
		rng:  rand.New(rand.NewPCG(set.seed, uint64(cls.id))), // #nosec G404 G115 -- fault timing, not security; ids are 1..8
		done: make(chan struct{}), ready: make(chan struct{}), uploadsStarted: make(chan struct{}),
		capturesGate: make(chan struct{}), operatorActs: map[string]int{},
	}
	if cls.key != "minio-stop" {
		close(r.capturesGate)
	}
	var classHooks hooks
	if cls.hooks != nil {
		classHooks = cls.hooks(r)
	}
	h := hooks{
		beforeCaptures: func(ctx context.Context, c *caseRun) {
			r.mu.Lock()
			r.callsStarted++
			r.mu.Unlock()
			if classHooks.beforeCaptures != nil {
				classHooks.beforeCaptures(ctx, c)
			}
		},
		uploadAnswered: classHooks.uploadAnswered,
	}
	deadline := time.Now().Add(set.caseDeadline)
	for i := 0; i < set.casesPerClass; i++ {
		base := st.apiBase
		if cls.replicas && i%2 == 1 {
			base = st.api2Base
		}
		c, err := newCaseRun(first+i+1, scriptFor(i), st.client(base), h, deadline)
		if err != nil {
			return nil, err
		}
		r.cases = append(r.cases, c)
	}

	injectErr := make(chan error, 1)
	go func() {
		err := cls.inject(ctx, r)
		if err != nil {
			// Bring back what the fault took down, so that the cases can
			// still finish; the error ends the run after them.
			st.log.Error("fault injection failed", "class", cls.id, "error", err)
			if uerr := st.ensureUp(ctx); uerr != nil {
				st.log.Error("could not restore the stack", "error", uerr)
			}
		}
		injectErr <- err
	}()
	if cls.continuous {
		select {
		case <-r.ready:
		case err := <-injectErr:
			return nil, err
		}
	}
	var wg sync.WaitGroup
	for i, c := range r.cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sleep(ctx, time.Duration(i*max(cls.spread, 1))*set.stagger)
			c.run(ctx)
		}()
	}
	wg.Wait()
	close(r.done)
	if err := <-injectErr; err != nil {
		return nil, err
	}
	// Whatever a fault left down is brought back before the checks.
	if err := st.ensureUp(ctx); err != nil {
		return nil, err
	}
	res, err := verify(ctx, r)
	if err != nil {
		return nil, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// ensureUp starts any part of the stack that is not running.
func (s *stack) ensureUp(ctx context.Context) error {
	if s.external != nil {
		return s.external.waitUp(ctx, s)
	}
	for _, name := range []string{namePostgres, nameMinIO, nameTemporal, nameWorker, nameAPI, nameSimulator} {
		if s.part(name).Running() {
			continue
		}
		s.log.Warn("restarting a part that is down", "part", name)
		if err := s.startPart(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// parseClasses reads -classes: numbers or keys, comma-separated.
func parseClasses(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if n, err := strconv.Atoi(f); err == nil && n >= 1 && n <= len(classes()) {
			out = append(out, n)
			continue
		}
		found := false
		for _, c := range classes() {
			if c.key == f {
				out, found = append(out, c.id), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown fault class %q", f)
		}
	}
	return out, nil
}
