package apiclient

import (
	"bytes"
	"image"
	_ "image/jpeg" // decoders for the samples
	_ "image/png"
	"net/http"
	"slices"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// The API sniffs uploads and accepts only real JPEG, PNG and WebP images, so
// the samples must be real images of the type they claim.
func TestSamplesAreRealImages(t *testing.T) {
	samples, err := Samples()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []kyc.CaptureKind
	for _, s := range samples {
		kinds = append(kinds, s.Kind)
		if got := http.DetectContentType(s.Data); got != s.ContentType {
			t.Errorf("%s: sniffed as %s, declared %s", s.FileName, got, s.ContentType)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(s.Data))
		if err != nil {
			t.Errorf("%s: %v", s.FileName, err)
			continue
		}
		if "image/"+format != s.ContentType || cfg.Width < 100 || cfg.Height < 100 {
			t.Errorf("%s: %s %dx%d; want a %s of at least 100x100", s.FileName, format, cfg.Width, cfg.Height, s.ContentType)
		}
		if len(s.SHA256()) != 64 {
			t.Errorf("%s: sha256 %q", s.FileName, s.SHA256())
		}
	}
	if !slices.Equal(kinds, kyc.DefaultRequiredCaptures) {
		t.Errorf("sample kinds %v, want the default required captures %v", kinds, kyc.DefaultRequiredCaptures)
	}
}

func TestWorkflowURL(t *testing.T) {
	got := WorkflowURL("http://127.0.0.1:8233/", "default", "0b8e0c3a-1d7e-4f57-9d51-7a3f3d3c9e10")
	want := "http://127.0.0.1:8233/namespaces/default/workflows/kyc-case-0b8e0c3a-1d7e-4f57-9d51-7a3f3d3c9e10"
	if got != want {
		t.Errorf("WorkflowURL = %s, want %s", got, want)
	}
}
