package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/redistest"
)

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// Entra-sized random tokens (entropy like real ones, not repeated characters)
// round-trip through Redis and take less room than their JSON.
func TestLargeRecordIsCompressedAndRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	s := New(rdb, mustSealer(t, randKey(t)), Options{})
	ctx := context.Background()
	k := UserKey{Team: redistest.UniqueID("T"), User: redistest.UniqueID("U")}
	rec := &Record{AccessToken: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + randomToken(2000),
		RefreshToken: "1.AQ" + randomToken(1532), Expiry: time.Now().Add(time.Hour).UTC(),
		Scopes: []string{"vso.build", "vso.work", "vso.project", "vso.profile", "vso.code"}, AuthMode: "entra",
		ProfileID: "d6245f20-2af8-44f4-9451-8107cb2767db", DisplayName: "Normal Paulk", Email: "np@fabrikam.example",
		Orgs: []string{"contoso", "fabrikam"}, DefaultOrg: "contoso", LinkedAt: time.Now().UTC()}
	if err := s.Put(ctx, k, rec); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rec)
	blob, err := rdb.HGet(ctx, k.tokensKey(), "d").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) >= len(js) {
		t.Errorf("sealed record is %d bytes, its JSON %d: not compressed", len(blob), len(js))
	}
	t.Logf("record JSON %d bytes, sealed %d bytes", len(js), len(blob))
	got, err := s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != rec.AccessToken || got.RefreshToken != rec.RefreshToken || got.Email != rec.Email {
		t.Fatal("record changed in the round trip")
	}
}

func TestCodec(t *testing.T) {
	c := &codec{}
	small := []byte(`{"at":"x"}`)
	if !bytes.Equal(c.pack(small), small) {
		t.Error("small record was packed")
	}
	big := []byte(`{"at":"` + randomToken(3000) + `"}`)
	for range 3 { // pooled writers and readers are reset correctly
		p := c.pack(big)
		if p[0] != tagDeflate || len(p) >= len(big) {
			t.Fatalf("big record not packed: %d -> %d", len(big), len(p))
		}
		out, err := c.unpack(p)
		if err != nil || !bytes.Equal(out, big) {
			t.Fatalf("unpack: %v", err)
		}
	}
	// A bomb (valid stream inflating beyond the limit) is refused.
	bomb := (&codec{}).pack(bytes.Repeat([]byte("{"), maxRecordBytes+10))
	if _, err := c.unpack(bomb); err == nil {
		t.Error("an oversized record inflated")
	}
	if _, err := c.unpack([]byte{tagDeflate, 0xff, 0x00}); err == nil {
		t.Error("garbage inflated")
	}
}

func BenchmarkGetEntraSizedRecord(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	s := New(rdb, mustSealer(b, randKey(b)), Options{})
	ctx := context.Background()
	k := UserKey{Team: redistest.UniqueID("T"), User: redistest.UniqueID("U")}
	if err := s.Put(ctx, k, &Record{AccessToken: randomToken(2048), RefreshToken: randomToken(1536), Email: "a@b"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
}
