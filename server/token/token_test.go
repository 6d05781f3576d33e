package token

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
)

const (
	testKey    = "APItest"
	testSecret = "a-secret-long-enough-for-hs256-use"
)

func decode(t *testing.T, jwt string) (expires time.Time, grants *auth.ClaimGrants) {
	t.Helper()
	v, err := auth.ParseAPIToken(jwt)
	if err != nil {
		t.Fatalf("ParseAPIToken: %v", err)
	}
	if v.APIKey() != testKey {
		t.Errorf("issuer = %q, want %q", v.APIKey(), testKey)
	}
	claims, grants, err := v.Verify(testSecret)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return claims.ExpiresAt.Time, grants
}

func TestRoleGrants(t *testing.T) {
	t.Parallel()
	type want struct {
		admin, publish, subscribe, data, hidden bool
	}
	for role, w := range map[Role]want{
		RoleTeacher:  {admin: true, publish: true, subscribe: true, data: true},
		RoleStudent:  {subscribe: true, data: true},
		RoleObserver: {subscribe: true, hidden: true},
	} {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			jwt, err := Mint(testKey, testSecret, Params{
				Room: "初二数学-3班", Identity: "u-" + string(role), Name: "王老师", Role: role, Metadata: `{"school":12}`,
			})
			if err != nil {
				t.Fatal(err)
			}
			_, g := decode(t, jwt)
			v := g.Video
			if v == nil {
				t.Fatal("no video grant")
			}
			if !v.RoomJoin || v.Room != "初二数学-3班" {
				t.Errorf("roomJoin=%v room=%q", v.RoomJoin, v.Room)
			}
			got := want{v.RoomAdmin, v.GetCanPublish(), v.GetCanSubscribe(), v.GetCanPublishData(), v.Hidden}
			if got != w {
				t.Errorf("grants = %+v, want %+v", got, w)
			}
			// The publish/data permissions are explicit, never left to LiveKit's "unset means allowed".
			if v.CanPublish == nil || v.CanPublishData == nil || v.CanSubscribe == nil {
				t.Error("a permission is left unset")
			}
			if v.RoomCreate || v.RoomList || v.RoomRecord || v.IngressAdmin || v.Recorder || v.Agent {
				t.Errorf("extra grants: %+v", v)
			}
			if g.Identity != "u-"+string(role) || g.Name != "王老师" || g.Metadata != `{"school":12}` {
				t.Errorf("identity=%q name=%q metadata=%q", g.Identity, g.Name, g.Metadata)
			}
			if g.Attributes[RoleAttribute] != string(role) {
				t.Errorf("role attribute = %q", g.Attributes[RoleAttribute])
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	for _, validFor := range []time.Duration{0, time.Minute, 90 * time.Minute, 24 * time.Hour} {
		before := time.Now()
		jwt, err := Mint(testKey, testSecret, Params{Room: "r", Identity: "i", Role: RoleStudent, ValidFor: validFor})
		if err != nil {
			t.Fatalf("ValidFor %v: %v", validFor, err)
		}
		want := validFor
		if want == 0 {
			want = DefaultValidFor
		}
		exp, _ := decode(t, jwt)
		// JWT times have one-second resolution.
		if lo, hi := before.Add(want).Add(-time.Second), time.Now().Add(want).Add(time.Second); exp.Before(lo) || exp.After(hi) {
			t.Errorf("ValidFor %v: expires %v, want within [%v, %v]", validFor, exp, lo, hi)
		}
	}
}

func TestWrongSecretFails(t *testing.T) {
	t.Parallel()
	jwt, err := Mint(testKey, testSecret, Params{Room: "r", Identity: "i", Role: RoleTeacher})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.ParseAPIToken(jwt)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Verify("another-secret"); err == nil {
		t.Error("token verified with the wrong secret")
	}
}

func TestInvalidParams(t *testing.T) {
	t.Parallel()
	ok := Params{Room: "r", Identity: "i", Role: RoleStudent}
	long := strings.Repeat("课", MaxNameLen+1)
	for name, edit := range map[string]func(*Params){
		"empty room":       func(p *Params) { p.Room = "" },
		"blank identity":   func(p *Params) { p.Identity = "  " },
		"long room":        func(p *Params) { p.Room = long },
		"long identity":    func(p *Params) { p.Identity = long },
		"bad utf-8":        func(p *Params) { p.Identity = "\xff" },
		"no role":          func(p *Params) { p.Role = "" },
		"unknown role":     func(p *Params) { p.Role = "admin" },
		"too short":        func(p *Params) { p.ValidFor = 59 * time.Second },
		"too long":         func(p *Params) { p.ValidFor = 24*time.Hour + time.Second },
		"negative":         func(p *Params) { p.ValidFor = -time.Hour },
		"bad name utf-8":   func(p *Params) { p.Name = "\xc3" },
		"bad metadata utf": func(p *Params) { p.Metadata = "\xc3" },
	} {
		p := ok
		edit(&p)
		if _, err := Mint(testKey, testSecret, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Mint("", testSecret, ok); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty key: err = %v", err)
	}
	if _, err := Mint(testKey, "", ok); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty secret: err = %v", err)
	}
	// Exactly MaxNameLen characters is fine, however many bytes they take.
	p := ok
	p.Room = strings.Repeat("课", MaxNameLen)
	if _, err := Mint(testKey, testSecret, p); err != nil {
		t.Errorf("%d-character room rejected: %v", MaxNameLen, err)
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, r := range Roles {
		got, err := ParseRole(" " + strings.ToUpper(string(r)) + " ")
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseRole("principal"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown role: err = %v", err)
	}
	if Role("x").Grant("r") != nil {
		t.Error("unknown role has a grant")
	}
}
