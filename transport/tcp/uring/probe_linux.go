//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le)

package uring

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Features is what the running kernel supports, probed once per process.
type Features struct {
	// Kernel is the release from uname(2).
	Kernel string
	major  int
	minor  int
	// SetupFlags holds each IORING_SETUP_* flag that io_uring_setup accepted on its own
	// (with its prerequisites).
	SetupFlags uint32
	// Features is IORING_FEAT_* from a default ring.
	Features uint32
	// LastOp is the probe's last_op: the highest opcode the kernel knows.
	LastOp Op
	ops    [256]bool
}

var probe struct {
	once sync.Once
	f    *Features
	err  error
}

// Probe returns the running kernel's io_uring support. The first call creates a few
// throw-away rings; the answer, or the error that io_uring is unusable, is cached.
func Probe() (*Features, error) {
	probe.once.Do(func() { probe.f, probe.err = doProbe() })
	return probe.f, probe.err
}

func doProbe() (*Features, error) {
	f := &Features{}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		f.Kernel = unix.ByteSliceToString(uts.Release[:])
		f.major, f.minor = parseRelease(f.Kernel)
	}
	var p params
	fd, err := sysSetup(1, &p)
	if err != nil {
		e := &UnsupportedFeatureError{Feature: "io_uring", MinKernel: "5.1", Reason: "io_uring_setup: " + err.Error()}
		if b, rerr := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); rerr == nil {
			if v := strings.TrimSpace(string(b)); v != "0" {
				e.Reason += " (kernel.io_uring_disabled=" + v + ")"
			}
		}
		return nil, e
	}
	f.Features = p.Features
	var pr probeBuf
	if _, err := sysRegisterProbe(fd, &pr); err == nil {
		f.LastOp = Op(pr.LastOp)
		for _, o := range pr.Ops[:pr.OpsLen] {
			if o.Flags&ioURingOpSupported != 0 {
				f.ops[o.Op] = true
			}
		}
	}
	unix.Close(fd)

	for bit := uint32(1); bit < setupKnownFlagsEnd; bit <<= 1 {
		p := params{Flags: bit}
		switch bit {
		case SetupSQAff:
			p.Flags |= SetupSQPoll
		case SetupTaskrunFlag:
			p.Flags |= SetupCoopTaskrun
		case SetupDeferTaskrun:
			p.Flags |= SetupSingleIssuer
		case SetupCQSize:
			p.CQEntries = 4
		case SetupAttachWQ:
			continue // needs a ring to attach to; not used
		}
		if fd, err := sysSetup(1, &p); err == nil {
			unix.Close(fd)
			f.SetupFlags |= bit
		}
	}
	return f, nil
}

func parseRelease(rel string) (major, minor int) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	major, _ = strconv.Atoi(parts[0])
	i := 0
	for i < len(parts[1]) && parts[1][i] >= '0' && parts[1][i] <= '9' {
		i++
	}
	minor, _ = strconv.Atoi(parts[1][:i])
	return major, minor
}

// HasOp reports whether the kernel supports op (IORING_REGISTER_PROBE).
func (f *Features) HasOp(op Op) bool { return f.ops[op] }

// CheckOp returns an *UnsupportedFeatureError if the kernel lacks op.
func (f *Features) CheckOp(op Op) error {
	if f.ops[op] {
		return nil
	}
	return &UnsupportedFeatureError{Feature: "IORING_OP_" + op.String(), MinKernel: op.MinKernel()}
}

// CheckSetup returns an *UnsupportedFeatureError if io_uring_setup rejects flag.
func (f *Features) CheckSetup(flag uint32) error {
	if f.SetupFlags&flag == flag {
		return nil
	}
	name, min := bitName(flag, setupFlagNames[:]), bitName(flag, setupFlagMinKernel[:])
	return &UnsupportedFeatureError{Feature: "IORING_SETUP_" + name, MinKernel: min}
}

// featMinKernel is the first release reporting each IORING_FEAT_* bit.
var featMinKernel = [...]string{
	"5.4", "5.5", "5.5", "5.6", "5.6", "5.7", "5.9", "5.11", "5.11", "5.12", "5.13", "5.17",
	"5.17", "6.3", "6.10", "6.12", "6.14", "6.15",
}

// CheckFeature returns an *UnsupportedFeatureError if the kernel does not report feat.
func (f *Features) CheckFeature(feat uint32) error {
	if f.Features&feat == feat {
		return nil
	}
	return &UnsupportedFeatureError{Feature: "IORING_FEAT_" + bitName(feat, featNames[:]),
		MinKernel: bitName(feat, featMinKernel[:])}
}

// CheckKernel returns an *UnsupportedFeatureError naming feature if the running kernel is
// older than min ("major.minor"). It is used for features the kernel cannot be asked about
// directly (io_uring_register opcodes).
func (f *Features) CheckKernel(feature, min string) error {
	maj, mnr := parseRelease(min + ".0")
	if f.major > maj || f.major == maj && f.minor >= mnr {
		return nil
	}
	return &UnsupportedFeatureError{Feature: feature, MinKernel: min, Reason: "running " + f.Kernel}
}

func bitName(flag uint32, names []string) string {
	for i := range names {
		if flag == 1<<i {
			return names[i]
		}
	}
	return fmt.Sprintf("%#x", flag)
}

// String is the one-line summary to log at start.
func (f *Features) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "io_uring on Linux %s: setup", f.Kernel)
	for i, n := range setupFlagNames {
		if f.SetupFlags&(1<<i) != 0 {
			b.WriteString(" " + n)
		}
	}
	b.WriteString("; features")
	for i, n := range featNames {
		if f.Features&(1<<i) != 0 {
			b.WriteString(" " + n)
		}
	}
	fmt.Fprintf(&b, "; ops up to %d", f.LastOp)
	var missing []string
	for op := Op(0); op < opKnownLast; op++ {
		if !f.ops[op] {
			missing = append(missing, op.String())
		}
	}
	if len(missing) > 0 {
		b.WriteString(", missing " + strings.Join(missing, " "))
	} else {
		b.WriteString(", all known ops supported")
	}
	return b.String()
}
