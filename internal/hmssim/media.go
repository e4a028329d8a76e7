package hmssim

import (
	"crypto/sha256"
	"encoding/binary"
)

// recordingFile returns deterministic MP4-shaped bytes for a recording: an
// ftyp box, then an mdat box whose payload is a SHA-256 stream of the
// recording id. Real players reject it (no moov), but type sniffers, size
// checks and checksums behave as with a real file. Longer calls give larger
// files: 8 KiB plus 1 KiB per second, at most 256 KiB.
func recordingFile(recordingID string, durationSeconds int64) []byte {
	ftyp := []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
	payload := 8<<10 + int(min(max(durationSeconds, 0), 248))<<10
	out := make([]byte, 0, len(ftyp)+8+payload)
	out = append(out, ftyp...)
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(8+payload))
	copy(hdr[4:], "mdat")
	out = append(out, hdr[:]...)
	block := sha256.Sum256([]byte(recordingID))
	for counter := uint64(0); len(out) < cap(out); counter++ {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], counter)
		block = sha256.Sum256(append(block[:], c[:]...))
		out = append(out, block[:min(len(block), cap(out)-len(out))]...)
	}
	return out
}
