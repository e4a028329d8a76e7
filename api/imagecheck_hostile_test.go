package api

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// TestCheckImage: files that only start like an image, or whose header
// claims a size no capture has, are refused before anything is stored.
func TestCheckImage(t *testing.T) {
	var pngBuf, jpegBuf bytes.Buffer
	if err := png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegBuf, image.NewGray(image.Rect(0, 0, 9, 7)), nil); err != nil {
		t.Fatal(err)
	}
	pngOK, jpegOK := pngBuf.Bytes(), jpegBuf.Bytes()
	hugePNG := withPNGSize(pngOK, 20000, 2)
	webp := func(chunk string, payload []byte, riffDelta int) []byte {
		var b bytes.Buffer
		b.WriteString("RIFF")
		_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+len(payload)+riffDelta))
		b.WriteString("WEBP" + chunk)
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(payload)))
		b.Write(payload)
		return b.Bytes()
	}
	vp8l := []byte{0x2f, 0x00, 0x00, 0x00, 0x00, 0x07, 0x10, 0x11, 0x11, 0x88}
	vp8 := []byte{0, 0, 0, 0x9d, 0x01, 0x2a, 16, 0, 9, 0, 0}
	vp8xHuge := []byte{0, 0, 0, 0, 0xff, 0xff, 0x00, 0x0f, 0, 0}
	for _, tt := range []struct {
		name, ct string
		data     []byte
		complete bool
		want     string // "" when accepted, else part of the error
	}{
		{"png", "image/png", pngOK, true, ""},
		{"jpeg", "image/jpeg", jpegOK, true, ""},
		{"webp lossless", "image/webp", webp("VP8L", vp8l, 0), true, ""},
		{"webp lossy", "image/webp", webp("VP8 ", vp8, 0), true, ""},
		{"png signature on text", "image/png", []byte("\x89PNG\r\n\x1a\nhello, this is text"), true, "not a valid PNG"},
		{"png with a broken IHDR CRC", "image/png", flipByte(pngOK, 29), true, "not a valid PNG"},
		{"png of 20000 pixels wide", "image/png", hugePNG, true, "20000×2"},
		{"jpeg magic on text", "image/jpeg", []byte("\xff\xd8\xff\xe0 not an image"), true, "not a valid JPEG"},
		{"jpeg cut after its first bytes", "image/jpeg", jpegOK[:20], true, "not a valid JPEG"},
		{"jpeg header beyond the window", "image/jpeg", append([]byte("\xff\xd8\xff\xe1\xff\xfe"), make([]byte, 600)...), false, "within the first"},
		{"webp with a wrong RIFF size", "image/webp", webp("VP8L", vp8l, 8), true, "not a valid WebP"},
		{"webp with an unknown chunk", "image/webp", webp("ABCD", vp8l, 0), true, "not a valid WebP"},
		{"webp lossy without start code", "image/webp", webp("VP8 ", make([]byte, 11), 0), true, "not a valid WebP"},
		{"webp canvas of a billion pixels", "image/webp", webp("VP8X", vp8xHuge, 0), true, "pixels"},
		{"gif", "image/gif", []byte("GIF89a"), true, "not an accepted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkImage(tt.ct, tt.data, tt.complete)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// withPNGSize rewrites the IHDR of a PNG to the given size, with a valid CRC.
func withPNGSize(p []byte, w, h uint32) []byte {
	out := append([]byte(nil), p...)
	binary.BigEndian.PutUint32(out[16:20], w)
	binary.BigEndian.PutUint32(out[20:24], h)
	binary.BigEndian.PutUint32(out[29:33], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func flipByte(p []byte, i int) []byte {
	out := append([]byte(nil), p...)
	out[i] ^= 0xff
	return out
}
