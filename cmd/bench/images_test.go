package main

import (
	"bytes"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
)

// The padded captures must still be images a decoder reads whole, of
// exactly the size asked for, with their header early in the file.
func TestPaddedImagesDecode(t *testing.T) {
	samples, err := apiclient.Samples()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		for _, size := range []int{len(s.Data) + 100, 200 << 10, 1 << 20, 8 << 20} {
			p, err := padded(s, size)
			if err != nil {
				t.Fatalf("%s to %d: %v", s.FileName, size, err)
			}
			if len(p.Data) != size {
				t.Fatalf("%s: %d bytes, want %d", s.FileName, len(p.Data), size)
			}
			img, format, err := image.Decode(bytes.NewReader(p.Data))
			if err != nil {
				t.Fatalf("%s padded to %d does not decode: %v", s.FileName, size, err)
			}
			orig, _, _ := image.Decode(bytes.NewReader(s.Data))
			if img.Bounds() != orig.Bounds() || "image/"+format != s.ContentType {
				t.Fatalf("%s: decoded %s %v, want %s %v", s.FileName, format, img.Bounds(), s.ContentType, orig.Bounds())
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data[:min(len(p.Data), 64<<10)]))
			if err != nil || cfg.Width != orig.Bounds().Dx() {
				t.Fatalf("%s: the header is not within the first 64 KiB: %v", s.FileName, err)
			}
		}
	}
}

func TestPaddingTooSmallIsRefused(t *testing.T) {
	samples, err := apiclient.Samples()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if _, err := padded(s, len(s.Data)-1); err == nil {
			t.Fatalf("%s: shrinking by padding succeeded", s.FileName)
		}
	}
}
