package auth

import (
	"strings"
	"testing"
	"time"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fast)
	enc := h.Hash("correct horse")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with our parameters", enc)
	}
	if enc == h.Hash("correct horse") {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	ok, rehash, err := h.Verify("correct horse", enc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = h.Verify("correct horsE", enc)
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	// A hash with other parameters verifies and asks for a rehash.
	ok, rehash, err = NewHasher(Params{Memory: 128, Time: 1, Threads: 1}).Verify("correct horse", enc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(other params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, _, err := h.Verify("x", bad); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
	h.VerifyDummy("anything") // must not panic
}

func TestDefaultParamsAreStrong(t *testing.T) {
	h := NewHasher(Params{})
	if p := h.Params(); p.Memory < 19456 || p.Time < 2 || p.KeyLen < 32 || p.SaltLen < 16 {
		t.Fatalf("default parameters %+v are weaker than OWASP's argon2id minimum", p)
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                       false,
		"1234567":                false,
		"12345678":               true,
		"密码密码密码密码":               true, // characters, not bytes
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false,
		"bad\xffutf8":            false,
	} {
		if got := CheckPassword(pw) == ""; got != ok {
			t.Errorf("CheckPassword(%q) ok = %v, want %v", pw, got, ok)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := GeneratePassword(0), GeneratePassword(20)
	if len(a) != 16 || len(b) != 20 || a == b[:16] {
		t.Fatalf("GeneratePassword: %q, %q", a, b)
	}
	if CheckPassword(a) != "" {
		t.Fatalf("generated password %q breaks the password rules", a)
	}
}

func TestTokens(t *testing.T) {
	a, b := RandomToken(32), RandomToken(32)
	if a == b || len(a) != 43 {
		t.Fatalf("RandomToken: %q %q", a, b)
	}
	if h := HashToken(a); len(h) != 64 || h == HashToken(b) {
		t.Fatalf("HashToken: %q", h)
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLimiter(t *testing.T) {
	c := &fakeClock{time.Unix(1_000_000, 0)}
	l := NewLimiter(LimiterParams{Max: 3, Window: 15 * time.Minute, Now: c.now})
	for i := 0; i < 3; i++ {
		if b, _ := l.Blocked("a"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("a")
		c.t = c.t.Add(time.Minute)
	}
	b, wait := l.Blocked("a")
	if !b || wait != 12*time.Minute {
		t.Fatalf("Blocked = %v, %v; want true, 12m", b, wait)
	}
	if b, _ := l.Blocked("b"); b {
		t.Fatal("another key is blocked")
	}
	c.t = c.t.Add(12 * time.Minute) // the first failure expires
	if b, _ := l.Blocked("a"); b {
		t.Fatal("still blocked after the oldest failure expired")
	}
	l.Fail("a")
	if b, _ := l.Blocked("a"); !b {
		t.Fatal("not blocked again")
	}
	l.Reset("a")
	if b, _ := l.Blocked("a"); b {
		t.Fatal("blocked after Reset")
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	c := &fakeClock{time.Unix(1_000_000, 0)}
	l := NewLimiter(LimiterParams{Max: 5, Window: time.Minute, MaxKeys: 100, Now: c.now})
	for i := 0; i < 1000; i++ {
		l.Fail(string(rune('A' + i)))
		if i%7 == 0 {
			c.t = c.t.Add(time.Second)
		}
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys remembered, bound is 100", n)
	}
	c.t = c.t.Add(2 * time.Minute)
	l.Fail("new")
	l.Fail("new2")
	for i := 0; i < 100; i++ {
		l.Fail(string(rune(0x4e00 + i)))
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys remembered after expiry, bound is 100", n)
	}
}
