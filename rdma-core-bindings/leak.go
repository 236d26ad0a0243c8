package rdma

import (
	"sync/atomic"
)

// kind names a tracked object type.
type kind int

const (
	kindDevice kind = iota
	kindPD
	kindMR
	kindMW
	kindCQ
	kindEndpoint
	kindListener
	kindBuffer
	numKinds
)

var kindNames = [numKinds]string{"Device", "PD", "MR", "MW", "CQ", "Endpoint", "Listener", "Buffer"}

// live counts open objects per kind.
var live [numKinds]atomic.Int64

func track(k kind)   { live[k].Add(1) }
func untrack(k kind) { live[k].Add(-1) }

// LiveObjects returns the number of objects of this package that were
// created and not yet closed, by type name (only non-zero counts), and
// their total. Tests assert that the total returns to zero.
func LiveObjects() (total int64, byType map[string]int64) {
	byType = make(map[string]int64)
	for k := range live {
		if n := live[k].Load(); n != 0 {
			byType[kindNames[k]] = n
			total += n
		}
	}
	return total, byType
}
