package chain

import "fmt"

// Linked is a stored event as the witness check needs it: its place and its
// stored hash.
type Linked struct {
	Seq  int64
	Hash string
}

// CheckWitness compares a stored log (in Seq order) with a witness of it
// kept elsewhere: saved, the head as of the writer's last confirmed save,
// and pending, the heads of events written since whose save may or may not
// have landed. It returns "" when the log agrees, or what is wrong:
//   - truncated: the log ends before the saved head;
//   - rewritten: the log's hash at the saved head differs (recomputed hashes
//     included, which the chain alone cannot reveal);
//   - extended: the log holds events the writer never made.
//
// A log whose own links are broken is VerifyChain's finding, not this.
func CheckWitness(log []Linked, saved Head, pending []Head) string {
	if saved.Seq > 0 {
		if int64(len(log)) < saved.Seq {
			return fmt.Sprintf("the log ends at event %d but the workflow saved %d events: it was truncated", len(log), saved.Seq)
		}
		if at := log[saved.Seq-1]; at.Seq != saved.Seq || at.Hash != saved.Hash {
			return fmt.Sprintf("event %d's hash differs from the one the workflow saved: the log was rewritten", saved.Seq)
		}
	}
	for _, e := range log[min(int64(len(log)), max(saved.Seq, 0)):] {
		i := e.Seq - saved.Seq - 1
		if i < 0 || i >= int64(len(pending)) {
			return fmt.Sprintf("the log holds event %d, which the workflow never made", e.Seq)
		}
		if p := pending[i]; p.Seq != e.Seq || (p.Hash != "" && p.Hash != e.Hash) {
			return fmt.Sprintf("event %d differs from the one the workflow is saving", e.Seq)
		}
	}
	return ""
}
