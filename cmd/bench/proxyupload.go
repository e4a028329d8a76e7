package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// putViaProxy measures the best an upload design that passes the bytes
// through an HTTP service can expect on this machine: a handler that streams the
// request body straight to PutObject, with nothing else (no auth, no
// multipart form, no hashing or content check, no database row, no
// workflow). The engine's API does all of those; if even this handler cannot
// reach a throughput target next to direct PutObject, no API can.
func (b *bench) putViaProxy(ctx context.Context, data []byte, n, conc int) (uploadRaw, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return uploadRaw{}, fmt.Errorf("proxy listener: %w", err)
	}
	var seq atomic.Int64
	prefix := "bench-proxy/" + randomHex(4) + "/"
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := fmt.Sprintf("%s%d.jpg", prefix, seq.Add(1))
			if _, err := b.s3.PutObject(r.Context(), b.bucket, key, r.Body, r.ContentLength,
				minio.PutObjectOptions{ContentType: "image/jpeg"}); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusCreated)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	url := "http://" + ln.Addr().String() + "/upload"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}, Timeout: time.Minute}

	var lat samples
	var errs errorCount
	b.meter.begin()
	wall := runPool(n, conc, func(_, _ int) {
		t := time.Now()
		if err := postBytes(ctx, client, url, data); err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	return uploadOf(len(data), n, conc, wall, lat.all(), &errs, b.meter.since()), nil
}

func postBytes(ctx context.Context, client *http.Client, url string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "image/jpeg")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusCreated {
		return errors.New(resp.Status + ": " + string(msg))
	}
	return nil
}
