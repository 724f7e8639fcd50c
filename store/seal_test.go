package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func randKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSealer(t testing.TB, cur []byte, old ...[]byte) *Sealer {
	t.Helper()
	s, err := NewSealer(cur, old...)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

func TestParseKey(t *testing.T) {
	key := randKey(t)
	// Make sure the URL and std alphabets really differ for this key, so both
	// branches are exercised.
	key[0], key[1], key[2] = 0xfb, 0xff, 0xbf
	short := key[:16]
	tests := []struct {
		name    string
		in      string
		want    []byte
		wantErr string
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), key, ""},
		{"std raw", base64.RawStdEncoding.EncodeToString(key), key, ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), key, ""},
		{"url raw", base64.RawURLEncoding.EncodeToString(key), key, ""},
		{"hex lower", hex.EncodeToString(key), key, ""},
		{"hex upper", strings.ToUpper(hex.EncodeToString(key)), key, ""},
		{"surrounding space", "  " + hex.EncodeToString(key) + "\n", key, ""},
		{"empty", "", nil, "empty"},
		{"blank", "   ", nil, "empty"},
		{"16 bytes base64", base64.StdEncoding.EncodeToString(short), nil, "16 bytes"},
		{"48 bytes base64", base64.StdEncoding.EncodeToString(append(append([]byte{}, key...), short...)), nil, "48 bytes"},
		{"31 bytes hex", hex.EncodeToString(key[:31]), nil, "want 32"},
		{"64 chars not hex", strings.Repeat("g", 63) + "!", nil, "not valid hex"},
		{"garbage", "this is not a key!!", nil, "neither base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseKey succeeded, want error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tc.wantErr)
				}
				if trimmed := strings.TrimSpace(tc.in); len(trimmed) > 4 && strings.Contains(err.Error(), trimmed) {
					t.Fatalf("error echoes the key: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
		})
	}
}

func TestNewSealerRejectsBadKeys(t *testing.T) {
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Fatal("16-byte current key accepted")
	}
	if _, err := NewSealer(randKey(t), make([]byte, 31)); err == nil {
		t.Fatal("31-byte old key accepted")
	}
	var zero Sealer
	if _, err := zero.Seal("k", []byte("x")); err == nil {
		t.Fatal("zero Sealer sealed")
	}
	if _, _, err := zero.Open("k", make([]byte, 64)); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("zero Sealer Open: %v", err)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := mustSealer(t, randKey(t))
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		sealed, err := s.Seal("adobot:{T:U}:tokens", pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(pt)+SealOverhead {
			t.Fatalf("sealed len %d, want %d", len(sealed), len(pt)+SealOverhead)
		}
		got, stale, err := s.Open("adobot:{T:U}:tokens", sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if stale {
			t.Fatal("stale with the current key")
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip changed the plaintext")
		}
	}
	// Fresh nonce each time: the same plaintext never seals to the same bytes.
	a, _ := s.Seal("k", []byte("same"))
	b, _ := s.Seal("k", []byte("same"))
	if bytes.Equal(a, b) || bytes.Equal(a[2:14], b[2:14]) {
		t.Fatal("two seals share a nonce")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	s := mustSealer(t, randKey(t))
	const aad = "adobot:{T:U}:tokens\x001"
	pt := []byte(`{"at":"access","rt":"refresh"}`)
	sealed, err := s.Seal(aad, pt)
	if err != nil {
		t.Fatal(err)
	}
	regions := []struct {
		name string
		at   int
	}{
		{"format byte", 0},
		{"key id", 1},
		{"nonce first", 2},
		{"nonce last", 13},
		{"ciphertext first", 14},
		{"ciphertext last", len(sealed) - tagSize - 1},
		{"tag first", len(sealed) - tagSize},
		{"tag last", len(sealed) - 1},
	}
	for _, r := range regions {
		t.Run(r.name, func(t *testing.T) {
			for _, bit := range []byte{0x01, 0x80} {
				bad := append([]byte(nil), sealed...)
				bad[r.at] ^= bit
				if _, _, err := s.Open(aad, bad); !errors.Is(err, ErrSealBroken) {
					t.Fatalf("flip %#x at %d: err %v, want ErrSealBroken", bit, r.at, err)
				}
				var oe *OpenError
				if _, _, err := s.Open(aad, bad); !errors.As(err, &oe) || oe.Reason == "" {
					t.Fatalf("error is not an *OpenError with a reason: %v", err)
				}
			}
		})
	}
	t.Run("every byte", func(t *testing.T) {
		for i := range sealed {
			bad := append([]byte(nil), sealed...)
			bad[i] ^= 0x20
			if _, _, err := s.Open(aad, bad); !errors.Is(err, ErrSealBroken) {
				t.Fatalf("flip at %d opened", i)
			}
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for n := 0; n < len(sealed); n++ {
			if _, _, err := s.Open(aad, sealed[:n]); !errors.Is(err, ErrSealBroken) {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
	})
	t.Run("appended", func(t *testing.T) {
		if _, _, err := s.Open(aad, append(append([]byte(nil), sealed...), 0)); !errors.Is(err, ErrSealBroken) {
			t.Fatalf("appended byte opened: %v", err)
		}
	})
	t.Run("wrong aad", func(t *testing.T) {
		for _, other := range []string{"", "adobot:{T:U2}:tokens\x001", "adobot:{T:U}:tokens\x002", aad + " "} {
			if _, _, err := s.Open(other, sealed); !errors.Is(err, ErrSealBroken) {
				t.Fatalf("opened with aad %q", other)
			}
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		other := mustSealer(t, randKey(t))
		if _, _, err := other.Open(aad, sealed); !errors.Is(err, ErrSealBroken) {
			t.Fatalf("opened with another key: %v", err)
		}
	})
	t.Run("original still opens", func(t *testing.T) {
		if got, _, err := s.Open(aad, sealed); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("original: %v", err)
		}
	})
}

func TestSealerRotation(t *testing.T) {
	oldK, newK := randKey(t), randKey(t)
	oldS := mustSealer(t, oldK)
	sealed, err := oldS.Seal("a", []byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	both := mustSealer(t, newK, oldK)
	got, stale, err := both.Open("a", sealed)
	if err != nil || string(got) != "p" || !stale {
		t.Fatalf("old-key blob with rotated sealer: %q stale=%v err=%v", got, stale, err)
	}
	resealed, err := both.Seal("a", got)
	if err != nil {
		t.Fatal(err)
	}
	if resealed[1] != keyID(newK) {
		t.Fatalf("reseal used key id %d, want the new key's %d", resealed[1], keyID(newK))
	}
	onlyNew := mustSealer(t, newK)
	if _, stale, err := onlyNew.Open("a", resealed); err != nil || stale {
		t.Fatalf("new-only sealer: stale=%v err=%v", stale, err)
	}
	if _, _, err := onlyNew.Open("a", sealed); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("retired key still opens: %v", err)
	}
}

// Two keys may share a key-id byte; Open must still find the right one.
func TestSealerKeyIDCollision(t *testing.T) {
	a := randKey(t)
	var b []byte
	for i := 0; i < 100000; i++ {
		c := randKey(t)
		if keyID(c) == keyID(a) && !bytes.Equal(a, c) {
			b = c
			break
		}
	}
	if b == nil {
		t.Fatal("no colliding key found")
	}
	old := mustSealer(t, b)
	sealed, _ := old.Seal("x", []byte("p"))
	s := mustSealer(t, a, b)
	if got, stale, err := s.Open("x", sealed); err != nil || !stale || string(got) != "p" {
		t.Fatalf("colliding id: %q stale=%v err=%v", got, stale, err)
	}
}

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	s := mustSealer(f, key)
	const rkey = "adobot:{T:U}:tokens"
	good, _ := json.Marshal(&Record{AccessToken: "a", RefreshToken: "r", Expiry: time.Unix(1, 0)})
	sealedGood, _ := s.Seal(recordAAD(rkey, "5"), good)
	f.Add("5", sealedGood, good)
	f.Add("5", []byte{}, []byte(`{}`))
	f.Add("0", []byte{1, 2, 3}, []byte(`null`))
	f.Add("-1", sealedGood[:SealOverhead], []byte(`{"exp":"not a time"}`))
	f.Add("9223372036854775808", sealedGood, []byte(`{"scp":[1,2]}`))
	f.Add("5", append([]byte{1, keyID(key)}, make([]byte, 40)...), []byte("\xff\xfe"))
	f.Add("5", sealedGood, []byte("z\x00\x00\xff\xff"))
	f.Add("5", sealedGood, append([]byte{tagDeflate}, good...))
	f.Fuzz(func(t *testing.T, v string, blob, plain []byte) {
		// Raw bytes from Redis: must fail cleanly (a forged tag is out of reach).
		if r, _, err := openRecord(s, &codec{}, rkey, v, blob); err == nil {
			if r.Version <= 0 {
				t.Fatalf("opened with version %d", r.Version)
			}
		} else if !errors.Is(err, ErrSealBroken) {
			t.Fatalf("error %v is not ErrSealBroken", err)
		}
		// Authentic seal of arbitrary plaintext: reaches the JSON decoder.
		sealed, err := s.Seal(recordAAD(rkey, v), plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := openRecord(s, &codec{}, rkey, v, sealed); err != nil && !errors.Is(err, ErrSealBroken) {
			t.Fatalf("error %v is not ErrSealBroken", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	s := mustSealer(b, randKey(b))
	pt := bytes.Repeat([]byte("x"), 1500) // about a real record with Entra tokens
	b.ReportAllocs()
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := s.Seal("adobot:{T0123:U0456}:tokens\x001700000000000000", pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := mustSealer(b, randKey(b), randKey(b))
	pt := bytes.Repeat([]byte("x"), 1500)
	const aad = "adobot:{T0123:U0456}:tokens\x001700000000000000"
	sealed, _ := s.Seal(aad, pt)
	b.ReportAllocs()
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, _, err := s.Open(aad, sealed); err != nil {
			b.Fatal(err)
		}
	}
}
