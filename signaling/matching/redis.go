package matching

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Matcher = (*Redis)(nil)

// Redis is the multi-node matcher. Every operation is one Lua script, so
// Redis runs it atomically: two nodes matching the same queue at the same
// moment cannot both take one teacher's last place or one student.
//
// Keys (all under Prefix, which carries a hash tag so that a cluster keeps
// them in one slot):
//
//	q:<queue>    sorted set of waiting request ids, scored by enqueue time (ms)
//	r:<request>  hash: student, key, grade, score, state (w waiting, o offered), teacher, expires
//	rd:<request> set of teachers who declined or let the request lapse
//	t:<teacher>  hash: keys, grades (",7,8," or empty for all), cap, avail, hb (heartbeat ms), lapses, last (assigned ms),
//	             scopes (",d1,s12,")
//	tk:<queue>   sorted set of the queue's teachers, scored by last assignment
//	to:<teacher> set of requests offered to the teacher
//	ts:<teacher> sorted set of the teacher's running sessions (by request),
//	             scored by when they were recorded (ms)
//	running      set of teachers with running sessions
//	tf:<teacher> sorted set of the teacher's sessions finished lately, scored
//	             by when (ms), so that a Sync with an older record does not
//	             bring them back
//	offers       sorted set of offered request ids, scored by expiry
//	epoch        "restoring:<claim>" while one node restores (with a lease),
//	             then "ready"; its absence means a new or restarted (empty)
//	             Redis, and nothing is matched until it is "ready"
//
// A teacher's load is SCARD(to:) + ZCARD(ts:): derived from what they
// hold, never counted up and down, so a lost or repeated event cannot make
// a busy teacher look free.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	cfg    Config
}

// RedisParams configure NewRedis.
type RedisParams struct {
	Client redis.UniversalClient
	// Prefix is prepended to every key; default "{yunke:match}:". Tests give
	// each matcher its own.
	Prefix string
	Config Config
}

// NewRedis returns a matcher that keeps its state in Redis.
func NewRedis(p RedisParams) *Redis {
	if p.Prefix == "" {
		p.Prefix = "{yunke:match}:"
	}
	return &Redis{rdb: p.Client, prefix: p.Prefix, cfg: p.Config.withDefaults()}
}

// luaLib holds the helpers every script that hands an offer back shares.
const luaLib = `
local P = ARGV[1]
local function offerOf(rid)
  local h = redis.call('HMGET', P..'r:'..rid, 'student', 'teacher', 'key', 'score', 'expires')
  return {rid, h[1], h[2], h[3], h[4], h[5]}
end
local function requeue(rid, tid, declined)
  local r = P..'r:'..rid
  local h = redis.call('HMGET', r, 'key', 'score')
  redis.call('HSET', r, 'state', 'w')
  redis.call('HDEL', r, 'teacher', 'expires')
  if declined then redis.call('SADD', P..'rd:'..rid, tid) end
  redis.call('ZADD', P..'q:'..h[1], h[2], rid)
  redis.call('ZREM', P..'offers', rid)
  redis.call('SREM', P..'to:'..tid, rid)
end
`

var (
	scriptEnqueue = redis.NewScript(`
local P = ARGV[1]
local r = P..'r:'..ARGV[2]
if redis.call('EXISTS', r) == 1 then return 0 end
redis.call('HSET', r, 'student', ARGV[3], 'key', ARGV[4], 'score', ARGV[5], 'grade', ARGV[6], 'state', 'w')
redis.call('ZADD', P..'q:'..ARGV[4], ARGV[5], ARGV[2])
return 1`)

	scriptHeartbeat = redis.NewScript(`
local P, id = ARGV[1], ARGV[2]
local t = P..'t:'..id
if redis.call('HEXISTS', t, 'last') == 0 then redis.call('HSET', t, 'lapses', 0, 'last', 0) end
local last = redis.call('HGET', t, 'last')
local new = {}
for k in string.gmatch(ARGV[6], '[^,]+') do new[k] = true end
local old = redis.call('HGET', t, 'keys')
if old then
  for k in string.gmatch(old, '[^,]+') do
    if not new[k] then redis.call('ZREM', P..'tk:'..k, id) end
  end
end
for k, _ in pairs(new) do redis.call('ZADD', P..'tk:'..k, last, id) end
redis.call('HSET', t, 'keys', ARGV[6], 'cap', ARGV[3], 'avail', ARGV[4], 'hb', ARGV[5], 'grades', ARGV[7], 'scopes', ARGV[8])
return 1`)

	scriptNext = redis.NewScript(`
local P, k = ARGV[1], ARGV[2]
local now, ttl, ottl, scan = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local epoch = redis.call('GET', P..'epoch')
if not epoch or string.sub(epoch, 1, 10) == 'restoring:' then return false end
local ts = redis.call('ZRANGE', P..'tk:'..k, 0, -1)
local elig = {}
for _, id in ipairs(ts) do
  local h = redis.call('HMGET', P..'t:'..id, 'avail', 'hb', 'cap', 'grades')
  local load = redis.call('SCARD', P..'to:'..id) + redis.call('ZCARD', P..'ts:'..id)
  if h[1] == '1' and now - tonumber(h[2]) <= ttl and load < tonumber(h[3]) then
    elig[#elig + 1] = {id, h[4] or ''}
  end
end
if #elig == 0 then return false end
local rs = redis.call('ZRANGE', P..'q:'..k, 0, scan - 1)
for _, rid in ipairs(rs) do
  local r = P..'r:'..rid
  local rh = redis.call('HMGET', r, 'student', 'grade')
  local student, grade = rh[1], ','..(rh[2] or '')..','
  for _, e in ipairs(elig) do
    local tid, grades = e[1], e[2]
    if tid ~= student and (grades == '' or string.find(grades, grade, 1, true))
        and redis.call('SISMEMBER', P..'rd:'..rid, tid) == 0 then
      local exp = string.format('%d', now + ottl)
      redis.call('ZREM', P..'q:'..k, rid)
      redis.call('HSET', r, 'state', 'o', 'teacher', tid, 'expires', exp)
      redis.call('ZADD', P..'offers', exp, rid)
      redis.call('SADD', P..'to:'..tid, rid)
      local t = P..'t:'..tid
      redis.call('HSET', t, 'last', ARGV[3])
      for kk in string.gmatch(redis.call('HGET', t, 'keys') or '', '[^,]+') do
        redis.call('ZADD', P..'tk:'..kk, ARGV[3], tid)
      end
      return {rid, student, tid, k, redis.call('HGET', r, 'score'), exp}
    end
  end
end
return false`)

	scriptAccept = redis.NewScript(luaLib + `
local rid, tid = ARGV[2], ARGV[3]
local r = P..'r:'..rid
local h = redis.call('HMGET', r, 'state', 'teacher', 'expires')
if h[1] ~= 'o' or h[2] ~= tid or tonumber(h[3]) <= tonumber(ARGV[4]) then return false end
local o = offerOf(rid)
redis.call('DEL', r, P..'rd:'..rid)
redis.call('ZREM', P..'offers', rid)
redis.call('SREM', P..'to:'..tid, rid)
redis.call('ZADD', P..'ts:'..tid, ARGV[4], rid)
redis.call('SADD', P..'running', tid)
redis.call('HSET', P..'t:'..tid, 'lapses', 0)
return o`)

	scriptDecline = redis.NewScript(luaLib + `
local rid, tid = ARGV[2], ARGV[3]
local h = redis.call('HMGET', P..'r:'..rid, 'state', 'teacher')
if h[1] ~= 'o' or h[2] ~= tid or redis.call('EXISTS', P..'t:'..tid) == 0 then return false end
local o = offerOf(rid)
redis.call('HSET', P..'t:'..tid, 'lapses', 0)
requeue(rid, tid, true)
return o`)

	scriptExpire = redis.NewScript(luaLib + `
local maxLapses = tonumber(ARGV[3])
local out = {}
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P..'offers', '-inf', ARGV[2])) do
  local o = offerOf(rid)
  local t = P..'t:'..o[3]
  local disabled = '0'
  if tonumber(redis.call('HINCRBY', t, 'lapses', 1)) >= maxLapses then
    redis.call('HSET', t, 'avail', 0, 'lapses', 0)
    disabled = '1'
  end
  requeue(rid, o[3], true)
  o[7] = disabled
  out[#out + 1] = o
end
return out`)

	scriptOffline = redis.NewScript(luaLib + `
local tid = ARGV[2]
local t = P..'t:'..tid
if redis.call('EXISTS', t) == 0 then return {} end
redis.call('HSET', t, 'avail', 0, 'hb', 0)
local rids = redis.call('SMEMBERS', P..'to:'..tid)
table.sort(rids)
local out = {}
for _, rid in ipairs(rids) do
  out[#out + 1] = offerOf(rid)
  requeue(rid, tid, false)
end
return out`)

	scriptCancel = redis.NewScript(luaLib + `
local rid = ARGV[2]
local r = P..'r:'..rid
local h = redis.call('HMGET', r, 'state', 'teacher', 'key')
if not h[1] then return -1 end
if h[1] == 'w' then
  redis.call('ZREM', P..'q:'..h[3], rid)
  redis.call('DEL', r, P..'rd:'..rid)
  return 0
end
local o = offerOf(rid)
redis.call('ZREM', P..'offers', rid)
redis.call('SREM', P..'to:'..h[2], rid)
redis.call('DEL', r, P..'rd:'..rid)
return o`)

	scriptFinish = redis.NewScript(`
local P, tid, rid, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ts = P..'ts:'..tid
redis.call('ZREM', ts, rid)
if redis.call('ZCARD', ts) == 0 then redis.call('SREM', P..'running', tid) end
redis.call('ZADD', P..'tf:'..tid, 'GT', now, rid)
redis.call('SADD', P..'finishedby', tid)
return 1`)

	scriptOccupy = redis.NewScript(`
local P, tid, now = ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV do redis.call('ZADD', P..'ts:'..tid, 'NX', now, ARGV[i]) end
if #ARGV >= 4 then redis.call('SADD', P..'running', tid) end
return 1`)

	// scriptSync: ARGV = prefix, asOf, then pairs of teacher and
	// comma-separated running requests, then how long finishes are
	// remembered (ms).
	scriptSync = redis.NewScript(`
local P, asOf = ARGV[1], ARGV[2]
local live = {}
for i = 3, #ARGV - 1, 2 do
  local set = {}
  for rid in string.gmatch(ARGV[i + 1], '[^,]+') do set[rid] = true end
  live[ARGV[i]] = set
end
for _, tid in ipairs(redis.call('SMEMBERS', P..'running')) do
  local ts, l = P..'ts:'..tid, live[tid] or {}
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', ts, '-inf', '('..asOf)) do
    if not l[rid] then redis.call('ZREM', ts, rid) end
  end
  if redis.call('ZCARD', ts) == 0 then redis.call('SREM', P..'running', tid) end
end
for _, tid in ipairs(redis.call('SMEMBERS', P..'finishedby')) do
  local tf = P..'tf:'..tid
  redis.call('ZREMRANGEBYSCORE', tf, '-inf', '('..(tonumber(asOf) - tonumber(ARGV[#ARGV])))
  if redis.call('ZCARD', tf) == 0 then redis.call('SREM', P..'finishedby', tid) end
end
for tid, set in pairs(live) do
  local any = false
  for rid, _ in pairs(set) do
    local fin = redis.call('ZSCORE', P..'tf:'..tid, rid)
    if not fin or tonumber(fin) < tonumber(asOf) then
      redis.call('ZADD', P..'ts:'..tid, 'NX', asOf, rid)
      any = true
    end
  end
  if any then redis.call('SADD', P..'running', tid) end
end
return 1`)

	// scriptReady turns this client's restore claim into "ready"; a
	// lapsed or lost claim changes nothing.
	scriptReady = redis.NewScript(`
local P, claim = ARGV[1], ARGV[2]
if redis.call('GET', P..'epoch') ~= claim then return 0 end
redis.call('SET', P..'epoch', 'ready')
return 1`)

	scriptPosition = redis.NewScript(`
local P, rid = ARGV[1], ARGV[2]
local h = redis.call('HMGET', P..'r:'..rid, 'state', 'key')
if not h[1] then return {-1, 0} end
local n = redis.call('ZCARD', P..'q:'..h[2])
if h[1] == 'o' then return {0, n} end
local rank = redis.call('ZRANK', P..'q:'..h[2], rid)
return {rank + 1, n}`)
)

func (m *Redis) run(ctx context.Context, s *redis.Script, args ...any) (any, error) {
	v, err := s.Run(ctx, m.rdb, nil, append([]any{m.prefix}, args...)...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("matching: redis: %w", err)
	}
	return v, nil
}

func joinKeys(keys []Key) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
	}
	return strings.Join(s, ",")
}

// parseOffer reads {rid, student, teacher, key, score, expires[, disabled]}.
func parseOffer(v any) (Offer, error) {
	a, ok := v.([]any)
	if !ok || len(a) < 6 {
		return Offer{}, fmt.Errorf("matching: unexpected script reply %v", v)
	}
	str := func(i int) string { s, _ := a[i].(string); return s }
	num := func(i int) int64 { n, _ := strconv.ParseInt(str(i), 10, 64); return n }
	k, err := ParseKey(str(3))
	if err != nil {
		return Offer{}, err
	}
	o := Offer{Request: RequestID(str(0)), Student: StudentID(str(1)), Teacher: TeacherID(str(2)), Key: k,
		EnqueuedAt: fromMS(num(4)), ExpiresAt: fromMS(num(5))}
	if len(a) > 6 {
		o.Disabled = str(6) == "1"
	}
	return o, nil
}

func parseOffers(v any) ([]Offer, error) {
	a, _ := v.([]any)
	out := make([]Offer, 0, len(a))
	for _, x := range a {
		o, err := parseOffer(x)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Heartbeat implements Matcher.
func (m *Redis) Heartbeat(ctx context.Context, t Teacher, now time.Time) error {
	avail := 0
	if t.Available {
		avail = 1
	}
	grades := ""
	if len(t.Grades) > 0 {
		parts := make([]string, len(t.Grades))
		for i, g := range t.Grades {
			parts[i] = strconv.Itoa(g)
		}
		grades = "," + strings.Join(parts, ",") + ","
	}
	scopes := ""
	if len(t.Scopes) > 0 {
		scopes = "," + strings.Join(t.Scopes, ",") + ","
	}
	_, err := m.run(ctx, scriptHeartbeat, string(t.ID), max(t.Capacity, 1), avail, ms(now), joinKeys(t.Keys), grades, scopes)
	return err
}

// Offline implements Matcher.
func (m *Redis) Offline(ctx context.Context, id TeacherID) ([]Offer, error) {
	v, err := m.run(ctx, scriptOffline, string(id))
	if err != nil {
		return nil, err
	}
	return parseOffers(v)
}

// Enqueue implements Matcher.
func (m *Redis) Enqueue(ctx context.Context, r Request) error {
	_, err := m.run(ctx, scriptEnqueue, string(r.ID), string(r.Student), r.Key.String(), ms(r.EnqueuedAt), r.Grade)
	return err
}

// Cancel implements Matcher.
func (m *Redis) Cancel(ctx context.Context, id RequestID) (*Offer, error) {
	v, err := m.run(ctx, scriptCancel, string(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, ErrNotFound
	}
	if n, ok := v.(int64); ok { // -1: unknown; 0: was waiting
		if n < 0 {
			return nil, ErrNotFound
		}
		return nil, nil
	}
	o, err := parseOffer(v)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// Next implements Matcher.
func (m *Redis) Next(ctx context.Context, k Key, now time.Time) (Offer, bool, error) {
	v, err := m.run(ctx, scriptNext, k.String(), ms(now), m.cfg.PresenceTTL.Milliseconds(),
		m.cfg.OfferTTL.Milliseconds(), m.cfg.ScanDepth)
	if err != nil || v == nil {
		return Offer{}, false, err
	}
	o, err := parseOffer(v)
	return o, err == nil, err
}

// Accept implements Matcher.
func (m *Redis) Accept(ctx context.Context, id RequestID, t TeacherID, now time.Time) (Offer, error) {
	v, err := m.run(ctx, scriptAccept, string(id), string(t), ms(now))
	if err != nil {
		return Offer{}, err
	}
	if v == nil {
		return Offer{}, ErrNoOffer
	}
	return parseOffer(v)
}

// Decline implements Matcher.
func (m *Redis) Decline(ctx context.Context, id RequestID, t TeacherID) (Offer, error) {
	v, err := m.run(ctx, scriptDecline, string(id), string(t))
	if err != nil {
		return Offer{}, err
	}
	if v == nil {
		return Offer{}, ErrNoOffer
	}
	return parseOffer(v)
}

// Expire implements Matcher.
func (m *Redis) Expire(ctx context.Context, now time.Time) ([]Offer, error) {
	v, err := m.run(ctx, scriptExpire, ms(now), m.cfg.MaxLapses)
	if err != nil {
		return nil, err
	}
	return parseOffers(v)
}

// Finish implements Matcher.
func (m *Redis) Finish(ctx context.Context, t TeacherID, id RequestID, now time.Time) error {
	_, err := m.run(ctx, scriptFinish, string(t), string(id), ms(now))
	return err
}

// Position implements Matcher.
func (m *Redis) Position(ctx context.Context, id RequestID) (int, int, error) {
	v, err := m.run(ctx, scriptPosition, string(id))
	if err != nil {
		return 0, 0, err
	}
	a, _ := v.([]any)
	if len(a) != 2 {
		return 0, 0, fmt.Errorf("matching: unexpected script reply %v", v)
	}
	pos, _ := a[0].(int64)
	n, _ := a[1].(int64)
	if pos < 0 {
		return 0, 0, ErrNotFound
	}
	return int(pos), int(n), nil
}

// Waiting implements Matcher.
func (m *Redis) Waiting(ctx context.Context, k Key) (int, error) {
	n, err := m.rdb.ZCard(ctx, m.prefix+"q:"+k.String()).Result()
	if err != nil {
		return 0, fmt.Errorf("matching: redis: %w", err)
	}
	return int(n), nil
}

// Occupy implements Matcher.
func (m *Redis) Occupy(ctx context.Context, t TeacherID, ids []RequestID, now time.Time) error {
	args := []any{string(t), ms(now)}
	for _, id := range ids {
		args = append(args, string(id))
	}
	_, err := m.run(ctx, scriptOccupy, args...)
	return err
}

// Sync implements Matcher.
func (m *Redis) Sync(ctx context.Context, running map[TeacherID][]RequestID, asOf time.Time) error {
	args := []any{ms(asOf)}
	for t, ids := range running {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = string(id)
		}
		args = append(args, string(t), strings.Join(parts, ","))
	}
	args = append(args, finishedMemory.Milliseconds())
	_, err := m.run(ctx, scriptSync, args...)
	return err
}

// Fresh implements Matcher: the first caller to find the epoch key
// missing claims the restore with a lease. A Redis that restarts without
// persistence comes back without the key, so the next caller restores
// again; so does the next caller after a claim lapses unfinished.
func (m *Redis) Fresh(ctx context.Context) (Claim, bool, error) {
	c := newClaim()
	ok, err := m.rdb.SetNX(ctx, m.prefix+"epoch", string(c), m.cfg.RestoreLease).Result()
	if err != nil {
		return "", false, fmt.Errorf("matching: redis: %w", err)
	}
	if !ok {
		return "", false, nil
	}
	return c, true, nil
}

// Ready implements Matcher.
func (m *Redis) Ready(ctx context.Context, c Claim) error {
	_, err := m.run(ctx, scriptReady, string(c))
	return err
}
