package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
)

// Capture images of a given size that are still valid files: the bundled
// samples with random, incompressible padding inside the format's own
// comment or private chunks, so any decoder (and the API's media sniffing)
// sees a real JPEG or PNG.

// padded returns the sample grown to exactly size bytes.
func padded(s apiclient.Sample, size int) (apiclient.Sample, error) {
	var err error
	switch s.ContentType {
	case "image/jpeg":
		s.Data, err = padJPEG(s.Data, size)
	case "image/png":
		s.Data, err = padPNG(s.Data, size)
	default:
		err = fmt.Errorf("cannot pad %s", s.ContentType)
	}
	return s, err
}

// jfifAPP0 is the standard JFIF header segment (version 1.1, no density,
// no thumbnail).
var jfifAPP0 = []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00}

// padJPEG inserts COM segments (FF FE, a 2-byte length counting itself, at
// most 65533 bytes of data) just before the start of scan, after the frame
// header. A JFIF header is added first if the file has none: with it,
// readers (Go's image/jpeg among them) find the dimensions at the frame
// header without reading on to the scan.
func padJPEG(src []byte, size int) ([]byte, error) {
	if len(src) < 4 || src[0] != 0xFF || src[1] != 0xD8 {
		return nil, errors.New("not a JPEG")
	}
	if !bytes.HasPrefix(src[2:], jfifAPP0[:9]) {
		src = append(append(append([]byte{}, src[:2]...), jfifAPP0...), src[2:]...)
	}
	sos := 2
	for {
		if sos+4 > len(src) || src[sos] != 0xFF {
			return nil, errors.New("JPEG without a start of scan")
		}
		if src[sos+1] == 0xDA {
			break
		}
		sos += 2 + int(binary.BigEndian.Uint16(src[sos+2:]))
	}
	need := size - len(src)
	if need < 4 {
		return nil, fmt.Errorf("a JPEG of %d bytes cannot be padded to %d", len(src), size)
	}
	const maxSeg = 4 + 65533
	k := (need + maxSeg - 1) / maxSeg
	data := need - 4*k
	out := make([]byte, 0, size)
	out = append(out, src[:sos]...)
	for i := range k {
		n := data / k
		if i < data%k {
			n++
		}
		out = append(out, 0xFF, 0xFE)
		out = binary.BigEndian.AppendUint16(out, uint16(n+2)) // #nosec G115 -- n ≤ 65533 by construction
		out = append(out, randomBytes(n)...)
	}
	return append(out, src[sos:]...), nil
}

// padPNG inserts one private, ancillary, safe-to-copy chunk ("vkPd") after
// IHDR, which decoders skip.
func padPNG(src []byte, size int) ([]byte, error) {
	const sigLen, ihdrLen = 8, 8 + 13 + 4
	if len(src) < sigLen+ihdrLen || !bytes.Equal(src[:sigLen], []byte("\x89PNG\r\n\x1a\n")) ||
		string(src[12:16]) != "IHDR" {
		return nil, errors.New("not a PNG starting with IHDR")
	}
	n := size - len(src) - 12
	if n < 0 {
		return nil, fmt.Errorf("a PNG of %d bytes cannot be padded to %d", len(src), size)
	}
	chunk := make([]byte, 0, 12+n)
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("a PNG chunk cannot hold %d bytes", n)
	}
	chunk = binary.BigEndian.AppendUint32(chunk, uint32(n)) // #nosec G115 -- bounded just above
	chunk = append(chunk, "vkPd"...)
	chunk = append(chunk, randomBytes(n)...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	at := sigLen + ihdrLen
	out := make([]byte, 0, size)
	out = append(out, src[:at]...)
	out = append(out, chunk...)
	return append(out, src[at:]...), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// captureSet is the three required captures of a case, each size bytes.
func captureSet(size int) ([]apiclient.Sample, error) {
	src, err := apiclient.Samples()
	if err != nil {
		return nil, err
	}
	out := make([]apiclient.Sample, len(src))
	for i, s := range src {
		if out[i], err = padded(s, size); err != nil {
			return nil, fmt.Errorf("sample %s: %w", s.FileName, err)
		}
	}
	return out, nil
}

// jpegOfSize is a face JPEG of exactly size bytes, for the upload scenario.
func jpegOfSize(size int) (apiclient.Sample, error) {
	src, err := apiclient.Samples()
	if err != nil {
		return apiclient.Sample{}, err
	}
	return padded(src[0], size)
}
