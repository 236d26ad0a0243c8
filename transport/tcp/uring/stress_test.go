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
			if err := r.WaitCQEs(1, 2*time.Second); err != nil && err != ErrIdle {
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
	desc := map[uint64]string{}
	sock, _ := tcpPair(t) // never receives anything: receives on it end by link timeout
	for range 2000 {
		chain := 1 + rng.IntN(4)
		for r.SQSpace() < uint32(2*chain) || r.FreeSlots() < 2*chain {
			submit(t, r)
			reapSome(r.FreeSlots() < 2*chain)
		}
		failed := false
		add := func(name string, prep func(SQE), link, skip bool, want int32, fail bool) {
			desc[next+1] = fmt.Sprintf("chain of %d: %s link %v skip %v failed before %v", chain, name, link, skip, failed)
			s := getSQE(t, r)
			next++
			s.SetUserData(next)
			prep(s)
			if link {
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
		for i := range chain {
			link := i < chain-1
			skip := rng.IntN(2) == 0
			switch rng.IntN(7) {
			case 0: // EBADF, cancels the rest of the chain
				add("read -1", func(s SQE) { s.PrepRead(-1, make([]byte, 8), 0) }, link, skip, -int32(unix.EBADF), true)
			case 1: // -ETIME: negative, so reported, but not a link failure
				d := time.Duration(rng.IntN(500)) * time.Microsecond
				add("timeout", func(s SQE) { s.PrepTimeout(d, 0, TimeoutETimeOK) }, link, skip, -int32(unix.ETIME), false)
			case 2: // a receive that its link timeout cancels, which fails the chain
				wasFailed := failed
				add("recv", func(s SQE) { s.PrepRecv(sock, make([]byte, 8), 0) }, true, skip, -int32(unix.ECANCELED), true)
				d := time.Duration(rng.IntN(300)) * time.Microsecond
				add("link timeout", func(s SQE) { s.PrepLinkTimeout(d, 0) }, link, rng.IntN(2) == 0, -int32(unix.ETIME), true)
				if !wasFailed {
					expect[next] = -int32(unix.ETIME) // the timer fired; add assumed the receive's failure
				}
			default:
				add("nop", func(s SQE) { s.PrepNop() }, link, skip, 0, false)
			}
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
			for u := ud - 5; u <= ud+2; u++ {
				t.Logf("%d: %s: seen %d res %d want %d", u, desc[u], seen[u], res[u], expect[u])
			}
			t.Fatalf("request %d: %d CQEs, res %d, want one with res %d", ud, seen[ud], res[ud], want)
		}
	}
	if len(r.free) != len(r.slots) {
		t.Fatalf("%d of %d slots free", len(r.free), len(r.slots))
	}
}
