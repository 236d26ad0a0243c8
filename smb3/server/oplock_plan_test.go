package server

import "testing"

// TestPlanOpenBreaks pins the break rules of a new open (MS-FSA 2.1.5.1.2.1,
// 2.1.4.12) that smb2.oplock and smb2.lease check one scenario at a time.
func TestPlanOpenBreaks(t *testing.T) {
	all := shareRead | shareWrite | shareDelete
	for _, tc := range []struct {
		name     string
		held     uint8  // oplock of the existing open
		lease    uint32 // or its lease state
		in       openIntent
		wantTo   int32 // -1: no break
		wantWait bool
	}{
		{"batch, normal open: to level II, wait", oplockBatch, 0, openIntent{access: fileReadData}, int32(oplockLevelII), true},
		{"batch, stat open: nothing", oplockBatch, 0, openIntent{access: fileReadAttributes | synchronize}, -1, false},
		{"batch, stat open overwriting: to none", oplockBatch, 0, openIntent{access: fileReadAttributes, overwrite: true}, int32(oplockNone), true},
		{"exclusive, sharing violation: nothing", oplockExclusive, 0, openIntent{access: fileReadData, conflict: true}, -1, false},
		{"batch, sharing violation: to level II", oplockBatch, 0, openIntent{access: fileReadData, conflict: true}, int32(oplockLevelII), true},
		{"level II, normal open: nothing", oplockLevelII, 0, openIntent{access: fileReadData}, -1, false},
		{"level II, overwrite: to none, no wait", oplockLevelII, 0, openIntent{access: fileReadData, overwrite: true}, int32(oplockNone), false},
		{"lease RWH, normal open: RH, wait", 0, leaseR | leaseW | leaseH, openIntent{access: fileReadData}, int32(leaseR | leaseH), true},
		{"lease RH, normal open: nothing", 0, leaseR | leaseH, openIntent{access: fileReadData}, -1, false},
		{"lease RH, overwrite: none, no wait", 0, leaseR | leaseH, openIntent{access: fileReadData, overwrite: true}, 0, false},
		{"lease RWH, sharing violation: RW, wait", 0, leaseR | leaseW | leaseH, openIntent{access: fileReadData, conflict: true}, int32(leaseR | leaseW), true},
		{"lease RH, unlink: R, wait", 0, leaseR | leaseH, openIntent{access: accessDelete, deleting: true}, int32(leaseR), true},
		{"lease RWH, READ_CONTROL stat open: nothing", 0, leaseR | leaseW | leaseH, openIntent{access: readControl}, -1, false},
	} {
		n := &fileNode{}
		x := &open{access: fileReadData, shareAc: all, node: n}
		if tc.lease != 0 {
			x.lease = &lease{id: leaseID{key: [16]byte{1}}, node: n, state: tc.lease, nopens: 1}
		} else {
			x.oplock = tc.held
		}
		n.opens = []*open{x}
		bs, _ := planOpenBreaks(n, tc.in)
		if tc.wantTo < 0 {
			if len(bs) != 0 {
				t.Errorf("%s: breaks %+v, want none", tc.name, bs)
			}
			continue
		}
		if len(bs) != 1 || bs[0].to != uint32(tc.wantTo) || bs[0].wait != tc.wantWait {
			t.Errorf("%s: breaks %+v, want one to %#x (wait %v)", tc.name, bs, tc.wantTo, tc.wantWait)
		}
	}
}

// TestNextStep: after an acknowledgment, a lease still above its target
// loses handle caching first (smb2.lease.breaking3: RH, R, none).
func TestNextStep(t *testing.T) {
	for _, tc := range []struct{ cur, want, next uint32 }{
		{leaseR | leaseH, 0, leaseR},
		{leaseR, 0, 0},
		{leaseR | leaseH, leaseR, leaseR},
		{leaseR | leaseW, leaseR, leaseR},
	} {
		if got := nextStep(tc.cur, tc.want); got != tc.next {
			t.Errorf("nextStep(%#x, %#x) = %#x, want %#x", tc.cur, tc.want, got, tc.next)
		}
	}
}

// TestValidLeaseState: H or W without R is not grantable (smb2.lease.request).
func TestValidLeaseState(t *testing.T) {
	for in, want := range map[uint32]uint32{
		0: 0, leaseR: leaseR, leaseH: 0, leaseW: 0, leaseH | leaseW: 0,
		leaseR | leaseH: leaseR | leaseH, leaseR | leaseW: leaseR | leaseW, leaseR | leaseH | leaseW: leaseR | leaseH | leaseW,
	} {
		if got := validLeaseState(in); got != want {
			t.Errorf("validLeaseState(%#x) = %#x, want %#x", in, got, want)
		}
	}
}
