package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
)

// headerWindow is how much of an upload is read before storing it, to
// check that it is an image and not only starts like one: the sniffer
// looks at a few magic bytes (three for JPEG), which any file can carry.
// A JPEG's frame header can follow its EXIF and ICC segments (up to 64 KiB
// each); 256 KiB covers what cameras and browsers write.
const headerWindow = 256 << 10

// maxImageSide bounds each dimension, as WebP does (16383), so that no
// capture can become a decompression bomb for whoever views it.
const maxImageSide = 16384

// checkImage reads the structure of head, the first bytes of a file the
// sniffer called contentType, up to the image's dimensions: a JPEG's
// markers up to its frame header, a PNG's signature and IHDR chunk (with its
// CRC), a WebP's RIFF header and first chunk. complete says head is the
// whole file. It does not decode the pixels.
func checkImage(contentType string, head []byte, complete bool) error {
	var w, h int
	switch contentType {
	case "image/jpeg":
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(head))
		if err != nil {
			return headerError("JPEG", err, complete)
		}
		w, h = cfg.Width, cfg.Height
	case "image/png":
		cfg, err := png.DecodeConfig(bytes.NewReader(head))
		if err != nil {
			return headerError("PNG", err, complete)
		}
		w, h = cfg.Width, cfg.Height
	case "image/webp":
		var err error
		if w, h, err = webpSize(head, complete); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s is not an accepted image type", contentType)
	}
	if w < 1 || h < 1 || w > maxImageSide || h > maxImageSide {
		return fmt.Errorf("the image is %d×%d pixels; each side must be 1 to %d", w, h, maxImageSide)
	}
	return nil
}

func headerError(format string, err error, complete bool) error {
	if !complete {
		return fmt.Errorf("no %s frame header within the first %d KiB", format, headerWindow>>10)
	}
	return fmt.Errorf("not a valid %s image (%v)", format, err)
}

var errBadWebP = errors.New("not a valid WebP image")

// webpSize reads the canvas size from a WebP file's first chunk (see the
// WebP container specification): VP8 (lossy), VP8L (lossless) or VP8X
// (extended).
func webpSize(b []byte, complete bool) (int, int, error) {
	if len(b) < 30 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, errBadWebP
	}
	riffSize := int64(binary.LittleEndian.Uint32(b[4:8]))
	chunkSize := int64(binary.LittleEndian.Uint32(b[16:20]))
	if riffSize < 4+8+chunkSize || (complete && riffSize+8 != int64(len(b))) {
		return 0, 0, errBadWebP
	}
	switch string(b[12:16]) {
	case "VP8 ":
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, errBadWebP
		}
		return int(binary.LittleEndian.Uint16(b[26:28]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:30]) & 0x3fff), nil
	case "VP8L":
		if b[20] != 0x2f {
			return 0, 0, errBadWebP
		}
		bits := binary.LittleEndian.Uint32(b[21:25])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	case "VP8X":
		le24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
		return le24(b[24:27]) + 1, le24(b[27:30]) + 1, nil
	}
	return 0, 0, errBadWebP
}
