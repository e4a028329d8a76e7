package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
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

// webpSize reads the canvas size through golang.org/x/image/webp, which
// reads the RIFF container up to the first image chunk (VP8, VP8L or VP8X).
// It does not compare the container's declared length with the file, so a
// whole file whose RIFF size disagrees with its length (cut or padded) is
// refused here.
func webpSize(b []byte, complete bool) (int, int, error) {
	if complete && (len(b) < 8 || int64(binary.LittleEndian.Uint32(b[4:8]))+8 != int64(len(b))) {
		return 0, 0, errBadWebP
	}
	cfg, err := webp.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0, errBadWebP
	}
	return cfg.Width, cfg.Height, nil
}
