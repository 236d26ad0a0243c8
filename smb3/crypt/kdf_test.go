package crypt

import (
	"bytes"
	"testing"
)

// Key derivation vectors. Blog ids used below:
//
//	[anatomy]: Microsoft Open Specifications blog, "SMB 2 and SMB 3 security in
//	Windows 10: the anatomy of signing and cryptographic keys", Appendix "Key
//	derivation examples".
//	[enc311]: same blog, "SMB 3.1.1 Encryption in Windows 10", Appendix A.1
//	(AES-128-GCM) and A.2 (AES-128-CCM).
//	[enc30]: same blog, "Encryption in SMB 3.0: A protocol perspective", as
//	quoted by the emc-isilon/pike test suite (test_smb3_encryption_vector.py);
//	the blog page itself was not available to check.
//
// The blogs print keys as the client sees them: the client's EncryptionKey
// is the server's DecryptionKey (ServerIn, SMBC2SCipherKey) and vice versa.
var keyVectors = []struct {
	name       string
	dialect    uint16
	cipher     uint16
	sessionKey string
	preauth    string
	signing    string
	clientEnc  string // server Decryption
	clientDec  string // server Encryption
	app        string
}{
	{
		name: "anatomy 3.0 channel 1", dialect: Dialect300, cipher: CipherAES128CCM,
		sessionKey: "7CD451825D0450D235424E44BA6E78CC",
		signing:    "0B7E9C5CAC36C0F6EA9AB275298CEDCE",
		clientEnc:  "FAD27796665B313EBB578F388632B4F7",
		clientDec:  "B0F0427F7CEB416D1D9DCC0CD4F99447",
		app:        "BB23A4575AA26C721AF525AF15A87B4F",
	},
	{
		name: "anatomy 3.0 channel 2", dialect: Dialect300, cipher: CipherAES128CCM,
		sessionKey: "4E01A2B313BCF660CC250BEF021AEDE6",
		signing:    "BA1A17DBBFEC349BCA105563D598952F",
	},
	{
		name: "enc30", dialect: Dialect300, cipher: CipherAES128CCM,
		sessionKey: "B4546771B515F766A86735532DD6C4F0",
		clientEnc:  "261B72350558F2E9DCF613070383EDBF",
		clientDec:  "8FE2B57EC34D2DB5B1A9727F526BBDB5",
	},
	{
		name: "anatomy 3.1.1 channel 1", dialect: Dialect311, cipher: CipherAES128GCM,
		sessionKey: "270E1BA896585EEB7AF3472D3B4C75A7",
		preauth: `0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB7928622DDDAD522D97
			51640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01`,
		signing:   "73FE7A9A77BEF0BDE49C650D8CCB5F76",
		clientEnc: "629BCBC54422A0F572B97F45989B6073",
		clientDec: "E2AF0DCEFAC68DA71A0DFBD0D1350D74",
		app:       "6D7AD7954E9EC61E907B4D473DC178FF",
	},
	{
		name: "anatomy 3.1.1 channel 2", dialect: Dialect311, cipher: CipherAES128GCM,
		sessionKey: "84B9DBB730116A8FA6E9889555C265F9",
		preauth: `EA3BF912B11CBFEC5B1889E8209614218687F82FA5294521AD3063425E49E88A10BD022124CE2512
			3BC9111F52D9566BA88BF46344E6063DC5E3FF0389026F6C`,
		signing: "C962BCA1A9DD1697B030644199705431",
	},
	{
		name: "enc311 A.1 GCM", dialect: Dialect311, cipher: CipherAES128GCM,
		sessionKey: "419FDDF34C1E001909D362AE7FB6AF79",
		preauth: `B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9
			77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770`,
		signing:   "8765949DFEAEE105CE9118B45BE988F0",
		clientEnc: "A2F5E80E5D59103034F32E52F698E5EC",
		clientDec: "748C50868C90F302962A5C35F5F9A8BF",
		app:       "099D610789FBE82055B313601C3E8CC4",
	},
	{
		name: "enc311 A.2 CCM", dialect: Dialect311, cipher: CipherAES128CCM,
		sessionKey: "07B7F69C1E2581662DF6987E88F9E891",
		preauth: `DECF98A420718718F22090D3580FCC5E484BD310FA1268210C6E86335A8891E767F5BCD99FA5A785
			9D665AD07A73EA94E1BCDB7CFA69A6962A28A244138340B1`,
		signing:   "3DCC82C5795AE27F383242761078C59B",
		clientEnc: "DFAAA31AAE40A2485D47AC4DF09FDA1D",
		clientDec: "95C544AEF6072680DA1CE49A68A97FA6",
		app:       "7A2F0F73EC2D530879B2913BBFCE242F",
	},
}

func TestDeriveKeysVectors(t *testing.T) {
	for _, v := range keyVectors {
		t.Run(v.name, func(t *testing.T) {
			var pre []byte
			if v.preauth != "" {
				pre = unhex(t, v.preauth)
			}
			k := DeriveKeys(v.dialect, unhex(t, v.sessionKey), pre, v.cipher)
			check := func(what string, got []byte, want string) {
				t.Helper()
				if want == "" {
					return
				}
				if w := unhex(t, want); !bytes.Equal(got, w) {
					t.Errorf("%s = %X, want %X", what, got, w)
				}
			}
			check("Signing", k.Signing, v.signing)
			check("Decryption (client EncryptionKey)", k.Decryption, v.clientEnc)
			check("Encryption (client DecryptionKey)", k.Encryption, v.clientDec)
			check("Application", k.Application, v.app)
		})
	}
}

func TestKDFDirect(t *testing.T) {
	// [anatomy] 3.0: SigningKey = KDF(SessionKey, "SMB2AESCMAC\0", "SmbSign\0", 128).
	got := KDF(unhex(t, "7CD451825D0450D235424E44BA6E78CC"), []byte("SMB2AESCMAC\x00"), []byte("SmbSign\x00"), 128)
	if want := unhex(t, "0B7E9C5CAC36C0F6EA9AB275298CEDCE"); !bytes.Equal(got, want) {
		t.Fatalf("KDF = %X, want %X", got, want)
	}
	// Longer outputs extend shorter ones only in their counter blocks: the
	// first 128 bits of an L=256 output differ from the L=128 output because
	// L is part of the PRF input.
	k256 := KDF([]byte("k"), []byte("l"), []byte("c"), 256)
	k128 := KDF([]byte("k"), []byte("l"), []byte("c"), 128)
	if len(k256) != 32 || len(k128) != 16 || bytes.Equal(k256[:16], k128) {
		t.Fatalf("bad lengths or L not bound: %x %x", k256, k128)
	}
	k512 := KDF([]byte("k"), []byte("l"), []byte("c"), 512)
	if len(k512) != 64 || bytes.Equal(k512[:32], k512[32:]) {
		t.Fatalf("multi-block KDF wrong: %x", k512)
	}
}

func TestDeriveKeys2x(t *testing.T) {
	sk := unhex(t, "00112233445566778899aabbccddeeff0011")
	for _, d := range []uint16{Dialect202, Dialect210} {
		k := DeriveKeys(d, sk, nil, 0)
		if !bytes.Equal(k.Signing, sk[:16]) || k.Encryption != nil || k.Decryption != nil {
			t.Errorf("dialect %#x: %+v", d, k)
		}
	}
	// Short keys are right-padded with zeros (MS-SMB2 3.3.5.5.3).
	k := DeriveKeys(Dialect210, []byte{1, 2, 3}, nil, 0)
	if want := append([]byte{1, 2, 3}, make([]byte, 13)...); !bytes.Equal(k.Signing, want) {
		t.Errorf("short key: %x", k.Signing)
	}
	if k := DeriveKeys(0x0399, sk, nil, 0); k.Signing != nil {
		t.Errorf("unknown dialect gave keys")
	}
}

func TestDeriveKeys256(t *testing.T) {
	full := make([]byte, 32)
	for i := range full {
		full[i] = byte(i)
	}
	pre := make([]byte, 64)
	for _, c := range []uint16{CipherAES256CCM, CipherAES256GCM} {
		k := DeriveKeys(Dialect311, full, pre, c)
		if len(k.Encryption) != 32 || len(k.Decryption) != 32 || len(k.Signing) != 16 || len(k.Application) != 16 {
			t.Fatalf("cipher %d: lengths %d %d %d %d", c, len(k.Encryption), len(k.Decryption), len(k.Signing), len(k.Application))
		}
		// FullSessionKey, L = 256.
		if want := KDF(full, []byte("SMBS2CCipherKey\x00"), pre, 256); !bytes.Equal(k.Encryption, want) {
			t.Errorf("Encryption not from the full session key")
		}
		if want := KDF(full[:16], []byte("SMBSigningKey\x00"), pre, 128); !bytes.Equal(k.Signing, want) {
			t.Errorf("Signing not from the 16-byte session key")
		}
		if _, err := NewCipher(c, k.Encryption); err != nil {
			t.Error(err)
		}
	}
}
