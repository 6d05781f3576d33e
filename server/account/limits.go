package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/auth"
)

// Sign-in throttling. Every attempt is reserved on two limiters before its
// password is checked (so parallel attempts cannot overtake the count):
//
//   - per client address, a hard limit: auth.failures_per_address in
//     failureWindow, then 429 until the oldest is failureWindow old;
//   - per account, a backoff: auth.failures_per_account attempts are free,
//     then each must wait accountBackoff after the last, twice as long each
//     time, up to maxAccountBackoff. Nobody can lock an account out for
//     good, and a guesser gets a few dozen tries an hour.
//
// A browser the account signed in from before (it holds a device token for
// the account) is counted on its own key instead of the account's, so a
// guesser elsewhere does not slow the owner down.
const (
	// failureWindow: an address's attempts count this long; an account's
	// are forgotten once it has been left alone this long after its wait.
	failureWindow     = 15 * time.Minute
	accountBackoff    = time.Second
	maxAccountBackoff = 15 * time.Minute
)

// signInLimiter reserves sign-in attempts per key (an account, a device, an
// address); see auth.Limiter.
type signInLimiter interface {
	// Reserve counts an attempt on key if it may try now; else ok is false
	// and wait says for how long it may not.
	Reserve(key string) (id string, ok bool, wait time.Duration)
	// Refund takes back one reserved attempt.
	Refund(key, id string)
	// Reset forgets key's attempts.
	Reset(key string)
}

var (
	_ signInLimiter = (*auth.Limiter)(nil)
	_ signInLimiter = (*sharedLimiter)(nil)
)

// sharedLimiter counts on Redis, so that several nodes share one count (an
// attacker gains nothing by spreading attempts over the nodes). It keeps
// this node's attempts in memory as well: while Redis does not answer, the
// local count decides.
type sharedLimiter struct {
	local  *auth.Limiter
	p      auth.LimiterParams
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
}

// redisTimeout bounds one limiter round trip; sign-in must not hang on Redis.
const redisTimeout = time.Second

// reserveScript is auth.Limiter.Reserve on a sorted set of attempts (score:
// the time in ms, member: the attempt's id), in one step on the server.
// KEYS[1] the key; ARGV now (ms), max, window (ms), backoff (ms, 0: a hard
// limit per window), max backoff (ms), the attempt's id, attempts to keep.
// It answers 0 when the attempt is counted, else the wait in ms.
var reserveScript = redis.NewScript(`
local k = KEYS[1]
local now, max, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local base, cap, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local function delay(n)
  if base == 0 or n < max then return 0 end
  local d = base
  for i = max + 1, n do
    if d >= cap then break end
    d = d * 2
  end
  return math.min(d, cap)
end
local function newest()
  return tonumber(redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')[2])
end
if base == 0 then
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - window)
else
  local n = redis.call('ZCARD', k)
  if n > 0 and now >= newest() + delay(n) + window then
    redis.call('DEL', k)
  end
end
local n = redis.call('ZCARD', k)
if n >= max then
  local untl
  if base == 0 then
    untl = tonumber(redis.call('ZRANGE', k, n - max, n - max, 'WITHSCORES')[2]) + window
  else
    untl = newest() + delay(n)
  end
  if now < untl then return untl - now end
end
redis.call('ZADD', k, now, ARGV[6])
n = n + 1
if n > keep then redis.call('ZREMRANGEBYRANK', k, 0, n - keep - 1) end
redis.call('PEXPIRE', k, delay(n) + window)
return 0
`)

func (l *sharedLimiter) key(k string) string { return l.prefix + k }

// Reserve implements signInLimiter. The id is the local attempt's and the
// Redis member's, joined by "/".
func (l *sharedLimiter) Reserve(key string) (string, bool, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	member := hex.EncodeToString(b[:])
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	waitMS, err := reserveScript.Run(ctx, l.rdb, []string{l.key(key)}, l.p.Now().UnixMilli(), l.p.Max,
		ms(l.p.Window), ms(l.p.Backoff), ms(l.p.MaxBackoff), member, l.p.Keep()).Int64()
	switch {
	case err != nil:
		l.log.Warn("sign-in limiter: redis", "err", err)
		localID, ok, wait := l.local.Reserve(key)
		return localID + "/", ok, wait
	case waitMS > 0:
		return "", false, time.Duration(waitMS) * time.Millisecond
	}
	return l.local.Add(key) + "/" + member, true, 0
}

// Refund implements signInLimiter.
func (l *sharedLimiter) Refund(key, id string) {
	localID, member, _ := strings.Cut(id, "/")
	l.local.Refund(key, localID)
	if member == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	if err := l.rdb.ZRem(ctx, l.key(key), member).Err(); err != nil {
		l.log.Warn("sign-in limiter: redis", "err", err)
	}
}

// Reset implements signInLimiter.
func (l *sharedLimiter) Reset(key string) {
	l.local.Reset(key)
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	if err := l.rdb.Del(ctx, l.key(key)).Err(); err != nil {
		l.log.Warn("sign-in limiter: redis", "err", err)
	}
}

// newSignInLimiter is a limiter on Redis when there is one, else on this node.
func (h *Handler) newSignInLimiter(p auth.LimiterParams, rdb *redis.Client, prefix string) signInLimiter {
	local := auth.NewLimiter(p)
	if rdb == nil {
		return local
	}
	return &sharedLimiter{local: local, p: local.Params(), rdb: rdb, prefix: prefix + ":signin:", log: h.log}
}

// Device tokens. A successful sign-in leaves the browser a token for the
// account, in the long-lived HttpOnly cookie deviceCookie (a few accounts'
// tokens, for a shared computer). A token is
//
//	<expiry, unix seconds>.<random id>.<HMAC of username, expiry and id>
//
// keyed by deviceKey, so nothing is stored on the server and every node
// accepts every node's tokens.
const (
	deviceCookie = "yunke_device"
	deviceTTL    = 180 * 24 * time.Hour
	// maxDevices is how many accounts' tokens one browser keeps.
	maxDevices = 4
)

// DeviceKey derives the device token key from the API secrets, which every
// node of an installation shares (rotating them forgets known devices). In
// dev mode the secrets are public, so the key is random.
func DeviceKey(dev bool, keys map[string]string) []byte {
	if dev {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	h := sha256.New()
	h.Write([]byte("yunke device token key v1\x00"))
	for _, k := range names {
		h.Write([]byte(k + "\x00" + keys[k] + "\x00"))
	}
	return h.Sum(nil)
}

func (h *Handler) deviceMAC(username, expiry, id string) string {
	m := hmac.New(sha256.New, h.deviceKey)
	m.Write([]byte(username + "\x00" + expiry + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// deviceFor returns the id of r's device token for username, if r carries
// a valid, unexpired one.
func (h *Handler) deviceFor(r *http.Request, username string, now time.Time) (string, bool) {
	for _, tok := range deviceTokens(r) {
		if id, ok := h.checkDevice(tok, username, now); ok {
			return id, true
		}
	}
	return "", false
}

func (h *Handler) checkDevice(tok, username string, now time.Time) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || now.Unix() >= exp {
		return "", false
	}
	want := h.deviceMAC(username, parts[0], parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return "", false
	}
	return parts[1], true
}

// deviceTokens are the tokens of r's device cookie.
func deviceTokens(r *http.Request) []string {
	c, err := r.Cookie(deviceCookie)
	if err != nil || len(c.Value) > 1024 {
		return nil
	}
	return strings.Split(c.Value, "~")
}

// rememberDevice gives the browser a fresh token for username, keeping its
// tokens for other accounts that are still valid.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, username string, now time.Time) {
	exp := strconv.FormatInt(now.Add(deviceTTL).Unix(), 10)
	id := auth.RandomToken(12)
	toks := []string{exp + "." + id + "." + h.deviceMAC(username, exp, id)}
	for _, tok := range deviceTokens(r) {
		if len(toks) == maxDevices {
			break
		}
		exp, _, _ := strings.Cut(tok, ".")
		if t, err := strconv.ParseInt(exp, 10, 64); err != nil || now.Unix() >= t || len(tok) > 100 {
			continue
		}
		if _, mine := h.checkDevice(tok, username, now); !mine {
			toks = append(toks, tok)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: strings.Join(toks, "~"), Path: "/api/v1/auth/",
		MaxAge: int(deviceTTL / time.Second), HttpOnly: true, Secure: h.cookieSecure(r), SameSite: http.SameSiteStrictMode})
}
