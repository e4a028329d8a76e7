package apiclient

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// The sample images are real (small, synthetic) JPEG and PNG files, so that
// the API's media-type sniffing and size checks see what a browser would send.
//
//go:embed samples
var sampleFS embed.FS

// Sample is one bundled capture image.
type Sample struct {
	Kind        kyc.CaptureKind
	FileName    string
	ContentType string
	Data        []byte
}

// SHA256 is the hex digest the API is told to expect (X-Content-SHA256).
func (s Sample) SHA256() string {
	sum := sha256.Sum256(s.Data)
	return hex.EncodeToString(sum[:])
}

var sampleFiles = []struct {
	kind        kyc.CaptureKind
	name, ctype string
}{
	{kyc.CaptureFace, "face.jpg", "image/jpeg"},
	{kyc.CaptureIDFront, "id_front.jpg", "image/jpeg"},
	{kyc.CaptureIDBack, "id_back.png", "image/png"},
}

// Samples returns the bundled face, ID front and ID back images, in the
// order of kyc.DefaultRequiredCaptures.
func Samples() ([]Sample, error) {
	out := make([]Sample, 0, len(sampleFiles))
	for _, f := range sampleFiles {
		b, err := sampleFS.ReadFile("samples/" + f.name)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", f.name, err)
		}
		out = append(out, Sample{Kind: f.kind, FileName: f.name, ContentType: f.ctype, Data: b})
	}
	return out, nil
}
