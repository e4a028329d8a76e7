package hmssim

import (
	"crypto/sha256"
	_ "embed" // the recording clip
	"encoding/binary"
)

// recordingClip is a real, playable 4-second MP4 (VP9 video and Opus audio,
// which Chromium plays without proprietary codecs; moov before mdat so that
// playback starts before the download ends), made once with ffmpeg from its
// test pattern and tone.
//
//go:embed assets/recording.mp4
var recordingClip []byte

// recordingFile returns the recording of a session: the clip, then a
// top-level free box (which players skip) that names the recording and
// holds a SHA-256 stream of its id, so that every recording's bytes and
// digest differ and it still plays. Longer calls give larger files: 1 KiB
// of padding per second, at most 248 KiB.
func recordingFile(recordingID string, durationSeconds int64) []byte {
	name := []byte("vkyc-simulator-recording " + recordingID + "\n")
	padding := int(min(max(durationSeconds, 0), 248)) << 10
	size := 8 + len(name) + padding
	out := make([]byte, 0, len(recordingClip)+size)
	out = append(out, recordingClip...)
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(size)) // #nosec G115 -- at most 248 KiB plus a short name
	copy(hdr[4:], "free")
	out = append(out, hdr[:]...)
	out = append(out, name...)
	block := sha256.Sum256([]byte(recordingID))
	for counter := uint64(0); len(out) < cap(out); counter++ {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], counter)
		block = sha256.Sum256(append(block[:], c[:]...))
		out = append(out, block[:min(len(block), cap(out)-len(out))]...)
	}
	return out
}
