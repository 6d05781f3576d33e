// Package auth holds the pieces of signing in that need no HTTP and no
// database: password hashing (argon2id), password rules, random tokens and
// the limiter that slows down password guessing.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length bounds, in characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
	// Parallel is how many hashes may run at once; each holds Memory KiB
	// while it runs. 0 means one fewer than the cores (runtime.GOMAXPROCS),
	// at least one: more would only queue for the cores while holding their
	// memory, and a core is left to live classes and everything else.
	Parallel int
}

// DefaultParams follow the OWASP password storage cheat sheet's argon2id
// setting (19 MiB, 2 iterations, 1 lane).
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed is returned for a stored hash that is not an argon2id PHC string.
var ErrMalformed = errors.New("auth: malformed password hash")

// ErrBusy is returned when no hashing slot came free before the context ended.
var ErrBusy = errors.New("auth: too many password hashes at once")

// Hasher hashes and verifies passwords with one set of parameters. At most
// Params.Parallel hashes run at once, so that a flood of sign-ins costs
// bounded memory and leaves cores to everything else; a caller waits for a
// slot until its context ends.
type Hasher struct {
	p     Params
	slots chan struct{}
	dummy string // a hash to verify against when there is no user, for even timing
}

// NewHasher returns a Hasher; zero fields of p take DefaultParams' values.
func NewHasher(p Params) *Hasher {
	d := DefaultParams
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if p.Parallel <= 0 {
		p.Parallel = max(1, runtime.GOMAXPROCS(0)-1)
	}
	h := &Hasher{p: p, slots: make(chan struct{}, p.Parallel)}
	h.dummy = h.hash(RandomToken(12))
	return h
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.p }

// acquire waits for a hashing slot until ctx ends; release gives it back.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string $argon2id$v=19$m=…,t=…,p=…$salt$hash, or
// ErrBusy when no slot came free before ctx ended.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash(password), nil
}

func (h *Hasher) hash(password string) string {
	salt := make([]byte, h.p.SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.Memory, h.p.Time, h.p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches encoded, comparing in constant
// time, and whether encoded was made with other parameters than h's (so the
// caller should store a fresh hash). It returns ErrBusy when no slot came
// free before ctx ended.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p.Memory != h.p.Memory || p.Time != h.p.Time || p.Threads != h.p.Threads ||
		uint32(len(salt)) != h.p.SaltLen || uint32(len(key)) != h.p.KeyLen
	return ok, rehash, nil
}

// VerifyDummy spends the time (and the slot) a Verify takes, for a user who
// does not exist: an unknown username and a wrong password then look the
// same. It returns ErrBusy as Verify does.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

func decode(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrMalformed
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, ErrMalformed
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4<<20 || p.Time > 64 {
		return p, nil, nil, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformed
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// CheckPassword returns what is wrong with username's new password, or "".
// username may be empty (one initial password for many imported users).
func CheckPassword(pw, username string) string {
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return "must be valid UTF-8"
	case n < MinPasswordLen:
		return fmt.Sprintf("at least %d characters", MinPasswordLen)
	case n > MaxPasswordLen:
		return fmt.Sprintf("at most %d characters", MaxPasswordLen)
	}
	low := strings.ToLower(pw)
	if u := strings.ToLower(strings.TrimSpace(username)); u != "" && (low == u || low == reverse(u)) {
		return "must not be the username"
	}
	if IsCommonPassword(pw) {
		return "is one of the most common passwords: choose one that is harder to guess"
	}
	return ""
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// RandomToken returns n random bytes, base64url-encoded without padding.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the hex SHA-256 of a session token: what the store keeps.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// passwordAlphabet leaves out look-alikes (0/O, 1/l/I) so a printed
// password is easy to type.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of n characters (at least 16).
func GeneratePassword(n int) string {
	if n < 16 {
		n = 16
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = passwordAlphabet[randIntn(len(passwordAlphabet))]
	}
	return string(out)
}

// randIntn is a uniform random int in [0, n) without modulo bias.
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
