package rpc

import (
	"strings"
	"testing"
)

// PDUs captured from Samba 4.17.12 smbd answering the same client PDUs as
// the golden tests (go-smb2 on IPC$ over loopback, \pipe\srvsvc), to check
// the codec against another implementation.
const (
	sambaBindAck = `05000c03100000007400000001000000b810b810055100000d005c706970655c7372767376630000
0300000000000000045d888aeb1cc9119fe808002b10486002000000020002000000000000000000000000000000000000000000
030003000000000000000000000000000000000000000000`
	sambaEnumAll1 = `0500020310000000ec00000002000000d40000000000000001000000010000000c00020002000000
10000200020000001400020000000000180002001c0002000300008020000200060000000000000006000000730068006100
72006500000001000000000000000100000000000000050000000000000005000000490050004300240000000000230000000000
000023000000490050004300200053006500720076006900630065002000280053006100 6d0062006100200034002e00310037
002e00310032002d00440065006200690061006e0029000000000002000000240002000000000000000000`
	sambaOpRng   = `0500032310000000200000000200000018000000000000000200011c00000000`
	sambaBindNak = `05000d031000000018000000010000000000010500000000`
)

func TestSambaCapture(t *testing.T) {
	// The bind_ack: the same results as ours for NDR, NDR64 and bind
	// time feature negotiation (goldenBindAck), with Samba's spelling of
	// the port and its association group.
	h := Header(unhexT(t, sambaBindAck))
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := DecodeBindAck(h)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := DecodeBindAck(Header(unhexT(t, goldenBindAck)))
	if !strings.EqualFold(a.SecAddr, ours.SecAddr) || len(a.Results) != 3 {
		t.Fatalf("Samba bind_ack %+v", a)
	}
	for i := range a.Results {
		if a.Results[i] != ours.Results[i] {
			t.Fatalf("result %d: Samba %+v, ours %+v", i, a.Results[i], ours.Results[i])
		}
	}

	// NetShareEnumAll level 1 from Samba decodes with the layout we emit.
	h = Header(unhexT(t, sambaEnumAll1))
	if err := h.Validate(); err != nil || Response(h).Validate() != nil {
		t.Fatal(err)
	}
	names, total, resume, st := decodeEnum(t, Response(h).Stub())
	if strings.Join(names, ",") != "share,IPC$" || total != 2 || resume != 0 || st != 0 {
		t.Fatalf("Samba NetShareEnumAll: %q %d %d %d", names, total, resume, st)
	}

	// An opnum out of range: the same fault status and flags as ours.
	h = Header(unhexT(t, sambaOpRng))
	if s, err := FaultStatusOf(h); err != nil || s != FaultOpRngError || h.Flags() != pfcFirstFrag|pfcLastFrag|pfcDidNotExecute {
		t.Fatalf("Samba fault %#x %v flags %#x", s, err, h.Flags())
	}

	// A second bind: Samba's bind_nak is byte for byte ours.
	checkBytes(t, "bind_nak", appendBindNak(nil, 1, nakReasonNotSpecified), unhexT(t, sambaBindNak))
}
