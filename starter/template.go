package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// templateApply creates the video-KYC template, or overwrites the one of the
// same name, on the configured 100ms account (or the simulator), and prints
// its id alone on standard output, so that
//
//	HMS_TEMPLATE_ID=$(starter template apply)
//
// works in scripts.
func (c *cli) templateApply(ctx context.Context, args []string) error {
	fs := c.newFlags("template apply", "[flags]")
	name := fs.String("name", "vkyc", "template name (applying is create-or-overwrite by name)")
	bucket := fs.String("bucket", "", "bucket 100ms uploads recordings to (default S3_BUCKET)")
	prefix := fs.String("prefix", "", "key prefix of recordings in the bucket (default HMS_RECORDING_PREFIX); the engine ignores recordings elsewhere")
	region := fs.String("region", "", "bucket region (default S3_REGION)")
	storageType := fs.String("storage-type", "s3", "recording storage type: s3, gs, oss or azure")
	accessKey := fs.String("access-key", "", "access key 100ms uploads recordings with (a write-only key of its own)")
	secretFile := fs.String("secret-key-file", "", "file holding the secret of --access-key (never given on the command line, where ps shows it)")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if (*accessKey == "") != (*secretFile == "") {
		return usagef("template apply: --access-key and --secret-key-file go together")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	storage := hms.RecordingStorage{
		Type: *storageType, Bucket: orDefault(*bucket, cfg.S3.Bucket), Prefix: orDefault(*prefix, cfg.HMS.RecordingPrefix),
		Region: orDefault(*region, cfg.S3.Region), AccessKey: *accessKey,
	}
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("template apply: read the secret key: %w", err)
		}
		storage.SecretKey = strings.TrimSpace(string(b))
	}
	if !cfg.HMS.Simulated && storage.AccessKey == "" {
		// The simulator writes with its own credentials; 100ms cannot
		// upload into the bank's bucket without some.
		fmt.Fprintln(c.errOut, "warning: no --access-key: 100ms will have no credentials for the recording bucket")
	}
	client, err := hms.New(hms.Config{BaseURL: cfg.HMS.BaseURL, AccessKey: cfg.HMS.AccessKey, AppSecret: cfg.HMS.AppSecret})
	if err != nil {
		return fmt.Errorf("template apply: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t, err := client.ApplyTemplate(ctx, hms.VKYCTemplate(*name, storage))
	if err != nil {
		return fmt.Errorf("template apply: %w", err)
	}
	fmt.Fprintln(c.out, t.ID)
	fmt.Fprintf(c.errOut, "template %q applied at %s; recordings go to %s://%s/%s\nset HMS_TEMPLATE_ID=%s\n",
		t.Name, client.BaseURL(), storage.Type, storage.Bucket, storage.Prefix, t.ID)
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
