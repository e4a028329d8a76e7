package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Scenario 4: capture uploads through the API against PutObject of the same
// bytes straight to MinIO.

// capturesPerCase is what a real attempt takes (face, ID front and back,
// PAN, one more), so that each upload meets a case of realistic size. At 45
// (just under the workflow's limit of 50) the uploads measured the growing
// case view, which every save and every answer carries, more than the upload.
const capturesPerCase = 5

type uploadRaw struct {
	SizeBytes   int                `json:"size_bytes"`
	N           int                `json:"n"`
	Concurrency int                `json:"concurrency"`
	Failed      int                `json:"failed"`
	WallSeconds float64            `json:"wall_seconds"`
	MiBPerSec   float64            `json:"mib_per_second"`
	Latency     summary            `json:"latency"`
	Errors      map[string]int     `json:"errors,omitempty"`
	CPUSeconds  map[string]float64 `json:"cpu_seconds,omitempty"`
	// API memory, KiB: RSS before, peak during (VmHWM after a reset), and
	// the peak of 10 ms samples as a cross-check.
	APIRSSBeforeKiB   int64 `json:"api_rss_before_kib,omitempty"`
	APIPeakKiB        int64 `json:"api_peak_kib,omitempty"`
	APISampledPeakKiB int64 `json:"api_sampled_peak_kib,omitempty"`
	PeakFromHWM       bool  `json:"peak_from_vmhwm,omitempty"`
}

type uploader struct {
	agent string
	cases []string
	n     int
}

func (b *bench) scenarioUploads(ctx context.Context) error {
	sz := b.o.sz
	conc := sz.UploadConc
	// Uploaders take work from a shared counter, so a fast one may do more
	// than its share: twice the share is provisioned.
	per := 2*((sz.Uploads1MiB+conc-1)/conc+(sz.Uploads8MiB+conc-1)/conc) + 2
	d, err := b.newCaseDriver(b.o.sz.Poll, nil)
	if err != nil {
		return err
	}
	ups := make([]*uploader, conc)
	for w := range conc {
		u := &uploader{agent: fmt.Sprintf("bench-uploader-%d", w)}
		for range (per + capturesPerCase - 1) / capturesPerCase {
			id, err := d.caseInCall(ctx, u.agent)
			if err != nil {
				return fmt.Errorf("prepare a case in call: %w", err)
			}
			u.cases = append(u.cases, id)
		}
		ups[w] = u
	}
	// need is the size's target ratio against the bare proxy; the 8 MiB run also
	// watches the API's RSS.
	for _, size := range []struct {
		bytes    int
		n        int
		name     string
		need     float64
		watchRSS bool
	}{{1 << 20, sz.Uploads1MiB, "1mib", 0.5, false}, {8 << 20, sz.Uploads8MiB, "8mib", 0.75, true}} {
		if size.n == 0 {
			continue
		}
		sample, err := jpegOfSize(size.bytes)
		if err != nil {
			return err
		}
		f, err := apiclient.NewCaptureUpload(sample)
		if err != nil {
			return err
		}
		direct := b.putDirect(ctx, sample.Data, size.n, conc)
		b.settle(ctx)
		proxy, err := b.putViaProxy(ctx, sample.Data, size.n, conc)
		if err != nil {
			return err
		}
		b.settle(ctx)
		eng := b.putThroughAPI(ctx, f, ups, size.n, conc, size.watchRSS)
		logf("4: %s: engine %.1f MiB/s, direct %.1f MiB/s, bare proxy %.1f MiB/s", size.name, eng.MiBPerSec, direct.MiBPerSec, proxy.MiBPerSec)
		b.report.Raw["4_engine_"+size.name] = eng
		b.report.Raw["4_direct_"+size.name] = direct
		b.report.Raw["4_proxy_"+size.name] = proxy
		b.report.add(row{
			Scenario: "4", Figure: fmt.Sprintf("Capture upload %d MiB, %d at concurrency %d", size.bytes>>20, size.n, conc),
			Value:    fmt.Sprintf("%.1f MiB/s (p50 %.0f ms; %d failed)", eng.MiBPerSec, eng.Latency.P50, eng.Failed),
			Baseline: fmt.Sprintf("%.1f MiB/s (p50 %.0f ms) the bare streaming proxy", proxy.MiBPerSec, proxy.Latency.P50),
			ratio:    ratioOf(eng.MiBPerSec, proxy.MiBPerSec), higherBetter: true, need: size.need, Target: fmt.Sprintf("≥ %.2g of baseline", size.need),
			profileHint: size.name,
		})
		b.report.add(row{
			Scenario: "4", Figure: fmt.Sprintf("For reference: %d MiB through the bare streaming proxy (request body → PutObject, nothing else), the best an upload through an API can do here", size.bytes>>20),
			Value:    fmt.Sprintf("%.1f MiB/s (p50 %.0f ms; %d failed)", proxy.MiBPerSec, proxy.Latency.P50, proxy.Failed),
			Baseline: fmt.Sprintf("%.1f MiB/s (p50 %.0f ms) minio-go PutObject", direct.MiBPerSec, direct.Latency.P50),
			ratio:    ratioOf(proxy.MiBPerSec, direct.MiBPerSec), higherBetter: true, Target: "—", TemporalStore: "—",
		})
		b.report.add(fixedCostRow(size.bytes>>20, eng, proxy))
		if size.watchRSS {
			growth := float64(eng.APIPeakKiB-eng.APIRSSBeforeKiB) / 1024
			src := "VmHWM"
			if !eng.PeakFromHWM {
				src = "10 ms samples"
			}
			b.report.add(row{
				Scenario: "4", Figure: "API peak RSS growth during the 8 MiB run",
				Value:    fmt.Sprintf("%.1f MiB (%.0f → %.0f MiB, %s)", growth, float64(eng.APIRSSBeforeKiB)/1024, float64(eng.APIPeakKiB)/1024, src),
				Baseline: "—", Target: "< 64 MiB", met: yes(growth < 64), TemporalStore: "—",
			})
		}
		b.settle(ctx)
	}
	if len(ups) > 0 && len(ups[0].cases) > 0 {
		id := ups[0].cases[0]
		if err := writeTimeline(ctx, b.tc, kyc.WorkflowID(id), filepath.Join(b.dir, "timeline-upload-"+id+".txt")); err != nil {
			logf("4: timeline: %v", err)
		}
	}
	return nil
}

func (b *bench) putDirect(ctx context.Context, data []byte, n, conc int) uploadRaw {
	var lat samples
	var errs errorCount
	prefix := "bench-direct/" + randomHex(4) + "/"
	b.meter.begin()
	wall := runPool(n, conc, func(_, i int) {
		t := time.Now()
		_, err := b.s3.PutObject(ctx, b.bucket, fmt.Sprintf("%s%d.jpg", prefix, i), bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{ContentType: "image/jpeg"})
		if err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	return uploadOf(len(data), n, conc, wall, lat.all(), &errs, b.meter.since())
}

func (b *bench) putThroughAPI(ctx context.Context, f *apiclient.CaptureUpload, ups []*uploader, n, conc int, watchRSS bool) uploadRaw {
	var lat samples
	var errs errorCount
	var before, sampled int64
	fromHWM := false
	stop := make(chan struct{})
	done := make(chan struct{})
	if watchRSS {
		before, _, _ = memKiB(b.api.PID())
		fromHWM = resetPeakRSS(b.api.PID()) == nil
		go func() {
			defer close(done)
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				if rss, _, err := memKiB(b.api.PID()); err == nil {
					atomic.StoreInt64(&sampled, max(atomic.LoadInt64(&sampled), rss))
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	} else {
		close(done)
	}
	b.meter.begin()
	wall := runPool(n, conc, func(w, _ int) {
		u := ups[w]
		if u.n/capturesPerCase >= len(u.cases) {
			errs.add(fmt.Errorf("uploader %d has used all its cases", w))
			return
		}
		caseID := u.cases[u.n/capturesPerCase]
		u.n++
		t := time.Now()
		if _, _, err := b.client.Upload(ctx, b.client.token(u.agent, kyc.RoleAgent), caseID, apiclient.NewKey(), f); err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	cpu := b.meter.since()
	close(stop)
	<-done
	r := uploadOf(len(f.Sample.Data), n, conc, wall, lat.all(), &errs, cpu)
	if watchRSS {
		r.APIRSSBeforeKiB, r.APISampledPeakKiB = before, atomic.LoadInt64(&sampled)
		r.APIPeakKiB, r.PeakFromHWM = r.APISampledPeakKiB, fromHWM
		if fromHWM {
			if _, hwm, err := memKiB(b.api.PID()); err == nil {
				r.APIPeakKiB = max(hwm, r.APISampledPeakKiB)
			}
		}
	}
	return r
}

func uploadOf(size, n, conc int, wall time.Duration, lat []time.Duration, errs *errorCount, cpu map[string]float64) uploadRaw {
	return uploadRaw{
		SizeBytes: size, N: n, Concurrency: conc, Failed: n - len(lat), WallSeconds: round(wall.Seconds(), 3),
		MiBPerSec: round(float64(len(lat))*float64(size)/(1<<20)/wall.Seconds(), 2), Latency: summarize(lat),
		Errors: errs.snapshot(), CPUSeconds: cpu,
	}
}

// fixedCostRow says what an upload costs beyond moving its bytes: the CPU of
// the processes the bare proxy does without (the workflow's acceptance of the
// capture in Temporal and the worker; the idempotency and case rows in
// PostgreSQL), per upload, next to everything the upload costs.
func fixedCostRow(mib int, eng, proxy uploadRaw) row {
	// per is the CPU milliseconds per upload of the named processes, or of
	// all of them.
	per := func(r uploadRaw, names ...string) float64 {
		ok := r.N - r.Failed
		if ok <= 0 {
			return 0
		}
		sum := 0.0
		for name, cpu := range r.CPUSeconds {
			if len(names) == 0 || slices.Contains(names, name) {
				sum += cpu
			}
		}
		return 1000 * sum / float64(ok)
	}
	accept := per(eng, "temporal", "worker")
	return row{
		Scenario: "4", Figure: fmt.Sprintf("CPU per %d MiB upload: the workflow's acceptance (Temporal and the worker), then all processes", mib),
		Value: fmt.Sprintf("acceptance %.1f ms (Temporal %.1f, worker %.1f); PostgreSQL %.1f ms; API %.1f ms; MinIO %.1f ms; all %.1f ms",
			accept, per(eng, "temporal"), per(eng, "worker"), per(eng, "postgres"), per(eng, "api"), per(eng, "minio"), per(eng)),
		Baseline: fmt.Sprintf("bare proxy: all %.1f ms (MinIO %.1f ms)", per(proxy), per(proxy, "minio")),
		ratio:    ratioOf(per(eng), per(proxy)), Target: "—", TemporalStore: "SQLite WAL",
	}
}
