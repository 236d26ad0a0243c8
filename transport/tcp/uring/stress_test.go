//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"fmt"
	"golang.org/x/sys/unix"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSlotBookkeepingStress runs random link chains of NOPs, failing READs and short
// timeouts, with random CQE_SKIP_SUCCESS flags, through a small ring, and checks that every
// request posts exactly the CQEs the kernel's rules say, and that every slot comes back.
func TestSlotBookkeepingStress(t *testing.T) {
	if err := features(t).CheckFeature(FeatCQESkip); err != nil {
		t.Skip(err)
	}
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { stress(t, seed) })
	}
}

func stress(t *testing.T, seed uint64) {
	r := newRing(t, Config{Entries: 8, MaxInflight: 24})
	rng := rand.New(rand.NewPCG(seed, 2))
	expect := map[uint64]int32{} // user data -> res of the CQE that must arrive, or 1: none
	seen := map[uint64]int{}
	res := map[uint64]int32{}
	var next uint64
	var cqes [16]CQE
	reapSome := func(wait bool) {
		if wait {
			if err := r.WaitCQEs(1, 2*time.Second); err != nil {
				for i := range r.slots {
					if r.slots[i].busy {
						ud := r.slots[i].userData
						t.Logf("slot %d busy: user data %d expect %v seen %d deps %v", i, ud, expect[ud], seen[ud], r.slots[i].deps)
					}
				}
				t.Logf("sq head %d tail %d local %d", load(r.sqHead), load(r.sqTail), r.sqeTail)
				t.Fatalf("waiting with %d in flight: %v", r.Inflight(), err)
			}
		}
		n := r.PeekCQEs(cqes[:])
		for _, c := range cqes[:n] {
			seen[c.UserData]++
			res[c.UserData] = c.Res
		}
		r.CQAdvance(n)
	}
	for range 2000 {
		chain := 1 + rng.IntN(4)
		for r.SQSpace() < uint32(chain) || r.FreeSlots() < chain {
			submit(t, r)
			reapSome(r.FreeSlots() < chain)
		}
		failed := false
		for i := range chain {
			s := getSQE(t, r)
			next++
			s.SetUserData(next)
			skip := rng.IntN(2) == 0
			want := int32(0)
			fail := false
			switch rng.IntN(6) {
			case 0:
				s.PrepRead(-1, make([]byte, 8), 0) // EBADF, cancels the rest of the chain
				want, fail = -int32(unix.EBADF), true
			case 1:
				s.PrepTimeout(time.Duration(rng.IntN(500))*time.Microsecond, 0, TimeoutETimeOK)
				want = -int32(unix.ETIME) // negative, so reported, but not a link failure
			default:
				s.PrepNop()
			}
			if i < chain-1 {
				s.SetFlags(FlagIOLink)
			}
			if skip {
				s.SetFlags(FlagCQESkipSuccess)
			}
			switch {
			case failed:
				want = -int32(unix.ECANCELED)
			case skip && want == 0:
				want = 1 // success with skip: no CQE
			}
			expect[next] = want
			failed = failed || fail
		}
		if rng.IntN(3) == 0 {
			submit(t, r)
		}
		reapSome(false)
	}
	submit(t, r)
	deadline := time.Now().Add(10 * time.Second)
	for r.Inflight() > 0 && time.Now().Before(deadline) {
		reapSome(true)
	}
	if r.Inflight() != 0 {
		t.Fatalf("%d requests still in flight", r.Inflight())
	}
	for ud, want := range expect {
		if want == 1 {
			if seen[ud] != 0 {
				t.Fatalf("request %d: %d CQEs (res %d), want none", ud, seen[ud], res[ud])
			}
		} else if seen[ud] != 1 || res[ud] != want {
			t.Fatalf("request %d: %d CQEs, res %d, want one with res %d", ud, seen[ud], res[ud], want)
		}
	}
	if len(r.free) != len(r.slots) {
		t.Fatalf("%d of %d slots free", len(r.free), len(r.slots))
	}
}
