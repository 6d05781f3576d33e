package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"yunke/signaling/client"
)

// admissions is an Admission whose answers a test changes.
type admissions struct {
	mu  sync.Mutex
	ans map[Identity]error
}

func (a *admissions) Admit(_ context.Context, _ RoomName, id Identity) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ans[id]
}

func (a *admissions) set(id Identity, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ans[id] = err
}

// TestAdmission: a token that verifies is still refused when the Admission
// refuses its identity (HTTP 403 with the reason, on /rtc and
// /rtc/validate), or cannot decide (503); a participant refused later is
// removed at its next token refresh.
func TestAdmission(t *testing.T) {
	adm := &admissions{ans: map[Identity]error{
		"u7": fmt.Errorf("%w: the account is deactivated", ErrNotAdmitted),
		"u8": errors.New("database unreachable"),
	}}
	_, base := startService(t, Params{Admission: adm, TokenRefreshInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		identity string
		status   int
		body     string
	}{
		{"u7", http.StatusForbidden, "deactivated"},
		{"u8", http.StatusServiceUnavailable, "could not check"},
	} {
		tok := grantToken(t, tc.identity, studentGrant("adm"))
		_, err := client.Connect(ctx, client.Options{URL: base, Token: tok})
		if status, body := handshakeStatus(err); status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: join %v, want HTTP %d containing %q", tc.identity, err, tc.status, tc.body)
		}
		resp, err := http.Get(base + "/rtc/validate?access_token=" + url.QueryEscape(tok))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: /rtc/validate HTTP %d, want %d", tc.identity, resp.StatusCode, tc.status)
		}
	}

	// Admitted, then refused: removed at the next refresh.
	c := connect(t, ctx, base, grantToken(t, "u9", studentGrant("adm")))
	w := connect(t, ctx, base, grantToken(t, "witness", studentGrant("adm")))
	adm.set("u9", fmt.Errorf("%w: the account is deactivated", ErrNotAdmitted))
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the refused participant stayed")
	}
	if r := c.LeaveReason(); r != livekit.DisconnectReason_PARTICIPANT_REMOVED {
		t.Errorf("leave reason %v, want PARTICIPANT_REMOVED", r)
	}
	if _, err := w.WaitParticipant(ctx, "u9", func(p *livekit.ParticipantInfo) bool { return p == nil }); err != nil {
		t.Fatalf("the witness still sees the removed participant: %v", err)
	}
}

// refreshLog keeps the tokens a client is sent.
type refreshLog struct {
	mu   sync.Mutex
	toks []string
	got  chan struct{}
}

func (l *refreshLog) record(m *livekit.SignalResponse) {
	if tok := m.GetRefreshToken(); tok != "" {
		l.mu.Lock()
		l.toks = append(l.toks, tok)
		l.mu.Unlock()
		select {
		case l.got <- struct{}{}:
		default:
		}
	}
}

// next waits for a token sent after the call, and decodes it.
func (l *refreshLog) next(t *testing.T, ctx context.Context, pred func(*auth.ClaimGrants) bool) *auth.ClaimGrants {
	t.Helper()
	for {
		l.mu.Lock()
		toks := l.toks
		l.toks = nil
		l.mu.Unlock()
		for _, tok := range toks {
			v, err := auth.ParseAPIToken(tok)
			if err != nil {
				t.Fatal(err)
			}
			claims, g, err := v.Verify(testSecret)
			if err != nil {
				t.Fatalf("refreshed token does not verify: %v", err)
			}
			if ttl := time.Until(claims.ExpiresAt.Time); ttl > 2*time.Second {
				t.Errorf("refreshed token valid for %v, want twice the refresh interval", ttl)
			}
			if pred(g) {
				return g
			}
		}
		select {
		case <-l.got:
		case <-ctx.Done():
			t.Fatal("no refreshed token")
		}
	}
}

// TestTokenRefresh: a participant is sent fresh tokens (LiveKit's
// refresh_token) for the same identity and room, short-lived; a permission
// change by an admin is carried by the next one, so a rejoin keeps it.
func TestTokenRefresh(t *testing.T) {
	_, base := startService(t, Params{TokenRefreshInterval: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := &refreshLog{got: make(chan struct{}, 1)}
	c, err := client.Connect(ctx, client.Options{URL: base, Token: grantToken(t, "pupil", studentGrant("refresh")), OnSignal: log.record})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := log.next(t, ctx, func(*auth.ClaimGrants) bool { return true })
	if g.Identity != "pupil" || g.Video.Room != "refresh" || !g.Video.RoomJoin || g.Video.GetCanPublish() {
		t.Errorf("refreshed grants %+v %+v", g, g.Video)
	}

	api := livekit.NewRoomServiceJSONClient(base, &http.Client{Transport: bearer{grantToken(t, "", &auth.VideoGrant{RoomAdmin: true, Room: "refresh"})}})
	if _, err := api.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: "refresh", Identity: "pupil",
		Permission: &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true}}); err != nil {
		t.Fatal(err)
	}
	log.next(t, ctx, func(g *auth.ClaimGrants) bool { return g.Video.GetCanPublish() })
}

type bearer struct{ tok string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tok)
	return http.DefaultTransport.RoundTrip(r)
}
