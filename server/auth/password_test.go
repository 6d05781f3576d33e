package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1}

func mustHash(t *testing.T, h *Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fast)
	ctx := context.Background()
	enc := mustHash(t, h, "correct horse")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with our parameters", enc)
	}
	if enc == mustHash(t, h, "correct horse") {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	ok, rehash, err := h.Verify(ctx, "correct horse", enc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = h.Verify(ctx, "correct horsE", enc)
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	// A hash with other parameters verifies and asks for a rehash.
	ok, rehash, err = NewHasher(Params{Memory: 128, Time: 1, Threads: 1}).Verify(ctx, "correct horse", enc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(other params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, _, err := h.Verify(ctx, "x", bad); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
	if err := h.VerifyDummy(ctx, "anything"); err != nil {
		t.Fatal(err)
	}
}

// TestHasherBoundsParallelHashes: with every slot taken, a hash waits for
// one until its context ends and then gives up with ErrBusy; a slot freed
// in time lets it run.
func TestHasherBoundsParallelHashes(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, Parallel: 2})
	enc := mustHash(t, h, "correct horse")
	for range 2 {
		if err := h.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with every slot taken: %v, want ErrBusy", err)
	}
	if _, _, err := h.Verify(ctx, "x", enc); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with every slot taken: %v, want ErrBusy", err)
	}
	if err := h.VerifyDummy(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyDummy with every slot taken: %v, want ErrBusy", err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(context.Background(), "correct horse", enc)
		done <- err
	}()
	h.release()
	if err := <-done; err != nil {
		t.Fatalf("Verify once a slot was freed: %v", err)
	}
	h.release()

	// Many callers at once: never more hashes than slots.
	var (
		mu         sync.Mutex
		running    int
		maxRunning int
		wg         sync.WaitGroup
	)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			running++
			maxRunning = max(maxRunning, running)
			mu.Unlock()
			_ = h.hash("x") // hold the slot as a hash does
			mu.Lock()
			running--
			mu.Unlock()
			h.release()
		}()
	}
	wg.Wait()
	if maxRunning > 2 {
		t.Fatalf("%d hashes ran at once, the bound is 2", maxRunning)
	}
	if p := NewHasher(fast).Params().Parallel; p < 1 {
		t.Fatalf("default Parallel = %d, want the number of cores", p)
	}
}

func TestDefaultParamsAreStrong(t *testing.T) {
	h := NewHasher(Params{})
	if p := h.Params(); p.Memory < 19456 || p.Time < 2 || p.KeyLen < 32 || p.SaltLen < 16 {
		t.Fatalf("default parameters %+v are weaker than OWASP's argon2id minimum", p)
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                             false,
		"1234567":                      false,
		"xk3-9vq":                      false,
		"xk3-9vqa":                     true,
		"密码密码密码密码":                     true, // characters, not bytes
		strings.Repeat("z", 127) + "q": true,
		strings.Repeat("z", 128) + "q": false,
		"bad\xffutf8":                  false,
	} {
		if got := CheckPassword(pw, "") == ""; got != ok {
			t.Errorf("CheckPassword(%q) ok = %v, want %v", pw, got, ok)
		}
	}
}

// TestCommonPasswordsRefused: the most common passwords, in any case, are
// refused, Chinese favourites and keyboard walks among them; so is the
// username, forwards or backwards.
func TestCommonPasswordsRefused(t *testing.T) {
	for _, pw := range []string{
		"123456789", "12345678", "PASSWORD", "Password1", "qwerty123", "11111111", "88888888",
		"1qaz2wsx", "147258369", "abc123456", "admin123", "iloveyou", "woaini1314", "5201314520",
		"qwertyuiop", "1q2w3e4r5t", "zxcvbnm123", "qazwsxedc", "a123456789", "ZAQ12WSX", "asdfghjkl",
		"123456", "a123456", "5201314", "zxcvbnm", // also too short
	} {
		if CheckPassword(pw, "") == "" {
			t.Errorf("CheckPassword(%q) accepted a common password", pw)
		}
	}
	if n := len(commonPasswords()); n < 10000 {
		t.Errorf("%d common passwords embedded, want at least 10000", n)
	}
	for _, u := range []string{"zhang.wei2010", "Zhang.Wei2010", "0102iew.gnahz"} {
		if msg := CheckPassword(u, "zhang.wei2010"); !strings.Contains(msg, "username") {
			t.Errorf("CheckPassword(%q, zhang.wei2010) = %q, want a complaint about the username", u, msg)
		}
	}
	for _, pw := range []string{"zhang.wei2010!", "correct horse battery", "茉莉花开2024年春"} {
		if msg := CheckPassword(pw, "zhang.wei2010"); msg != "" {
			t.Errorf("CheckPassword(%q) = %q, want it accepted", pw, msg)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := GeneratePassword(0), GeneratePassword(20)
	if len(a) != 16 || len(b) != 20 || a == b[:16] {
		t.Fatalf("GeneratePassword: %q, %q", a, b)
	}
	if CheckPassword(a, "someone") != "" {
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
