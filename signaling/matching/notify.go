package matching

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Notifier picks online teachers to tell about something of their queue —
// a new Q&A question — fairly: the least recently notified first. It uses
// the presence Heartbeat keeps (online: heard from within PresenceTTL,
// available for tutoring or not) and keeps its own notification times,
// apart from tutoring's assignment order.
type Notifier interface {
	// NotifyTeachers picks at most n teachers online at now who serve k and
	// teach grade (a teacher with no grades set teaches every grade of the
	// band), whose Scopes hold scope (any teacher when scope is ""), none of skip, the least recently notified first (ties by id),
	// and records them as notified at now — in one step, so that two nodes
	// picking at once never pick the same teacher for the same moment.
	NotifyTeachers(ctx context.Context, k Key, grade int, scope string, n int, skip []TeacherID, now time.Time) ([]TeacherID, error)
}

// DistrictScope and SchoolScope are the Teacher.Scopes of a district and of
// a school.
func DistrictScope(id int64) string { return "d" + strconv.FormatInt(id, 10) }

// SchoolScope: see DistrictScope.
func SchoolScope(id int64) string { return "s" + strconv.FormatInt(id, 10) }

var (
	_ Notifier = (*Memory)(nil)
	_ Notifier = (*Redis)(nil)
)

// NotifyTeachers implements Notifier.
func (m *Memory) NotifyTeachers(_ context.Context, k Key, grade int, scope string, n int, skip []TeacherID, now time.Time) ([]TeacherID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notified == nil {
		m.notified = map[TeacherID]int64{}
	}
	at := ms(now)
	var cand []*memTeacher
	for _, t := range m.teachers {
		if at-t.heartbeat > m.cfg.PresenceTTL.Milliseconds() || !slices.Contains(t.keys, k) || slices.Contains(skip, t.id) ||
			(len(t.grades) > 0 && !slices.Contains(t.grades, grade)) || (scope != "" && !slices.Contains(t.scopes, scope)) {
			continue
		}
		cand = append(cand, t)
	}
	slices.SortFunc(cand, func(a, b *memTeacher) int {
		if c := cmp.Compare(m.notified[a.id], m.notified[b.id]); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := []TeacherID{}
	for _, t := range cand[:min(n, len(cand))] {
		m.notified[t.id] = at
		out = append(out, t.id)
	}
	return out, nil
}

var scriptNotify = redis.NewScript(`
local P, k = ARGV[1], ARGV[2]
local now, ttl, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local grade, skip, scope = ','..ARGV[6]..',', ARGV[7], ARGV[8]
local cand = {}
for _, id in ipairs(redis.call('ZRANGE', P..'tk:'..k, 0, -1)) do
  local h = redis.call('HMGET', P..'t:'..id, 'hb', 'grades', 'scopes')
  if h[1] and now - tonumber(h[1]) <= ttl and (not h[2] or h[2] == '' or string.find(h[2], grade, 1, true))
      and (scope == '' or (h[3] and string.find(h[3], ','..scope..',', 1, true)))
      and not string.find(skip, ','..id..',', 1, true) then
    cand[#cand + 1] = {tonumber(redis.call('ZSCORE', P..'qn', id) or '0'), id}
  end
end
table.sort(cand, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
local out = {}
for i = 1, math.min(n, #cand) do
  out[#out + 1] = cand[i][2]
  redis.call('ZADD', P..'qn', now, cand[i][2])
end
return out`)

// NotifyTeachers implements Notifier.
func (m *Redis) NotifyTeachers(ctx context.Context, k Key, grade int, scope string, n int, skip []TeacherID, now time.Time) ([]TeacherID, error) {
	s := make([]string, len(skip))
	for i, id := range skip {
		s[i] = string(id)
	}
	v, err := m.run(ctx, scriptNotify, k.String(), ms(now), m.cfg.PresenceTTL.Milliseconds(), n, strconv.Itoa(grade),
		","+strings.Join(s, ",")+",", scope)
	if err != nil {
		return nil, err
	}
	out := []TeacherID{}
	list, _ := v.([]any)
	for _, x := range list {
		if id, ok := x.(string); ok {
			out = append(out, TeacherID(id))
		}
	}
	return out, nil
}
