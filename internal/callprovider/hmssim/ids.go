package hmssim

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

var (
	objectIDCounter atomic.Uint32
	processRandom   = func() (b [5]byte) {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		return b
	}()
)

// newObjectID returns a 24-hex id shaped like 100ms's (MongoDB ObjectId):
// seconds since the epoch, a per-process random part and a counter, so ids
// created later sort later, which list cursors rely on.
func newObjectID() string {
	var b [12]byte
	// Seconds fit in 32 bits until 2106, as in MongoDB ObjectIds.
	binary.BigEndian.PutUint32(b[0:4], uint32(time.Now().Unix())) // #nosec G115 -- the id format has 32 bits of seconds
	copy(b[4:9], processRandom[:])
	c := objectIDCounter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c) // #nosec G115 -- the low 24 bits of the counter, by design
	return hex.EncodeToString(b[:])
}

func newPeerID() string { return uuid.NewString() }

func isObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
