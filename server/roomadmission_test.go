package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"yunke/signaling/client"
	"yunke/storage"
)

// TestRoomTokenOfDeactivatedAccount: a room token minted by the API is
// short-lived, and joins only while its account is active: once the account
// is deactivated, the same unexpired token is refused with HTTP 403 saying
// why (on /rtc and /rtc/validate).
func TestRoomTokenOfDeactivatedAccount(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var grant struct{ Token string }
	minted := time.Now()
	fx.users["student"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "math-3-2"}, &grant)
	v, err := auth.ParseAPIToken(grant.Token)
	if err != nil {
		t.Fatal(err)
	}
	claims, _, err := v.Verify(apiSecret)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := claims.ExpiresAt.Sub(minted); ttl > 10*time.Minute+time.Second {
		t.Errorf("room token valid for %v, want at most 10 minutes", ttl)
	}

	c := join(t, ctx, srv, grant.Token, client.Options{})
	c.Close()

	admin := fx.users["system_admin"]
	var u storage.User
	admin.must(200, "GET", "/api/v1/users/"+itoa(fx.userIDs["student"]), nil, &u)
	admin.must(200, "PATCH", "/api/v1/users/"+itoa(fx.userIDs["student"]), map[string]any{"active": false, "version": u.Version}, nil)

	_, err = client.Connect(ctx, client.Options{URL: srv.url, Token: grant.Token, SettingEngine: loopbackUDP})
	var he *client.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !strings.Contains(he.Body, "deactivated") {
		t.Errorf("join with the deactivated student's token: %v, want HTTP 403 saying the account is deactivated", err)
	}
	if status, body := httpGet(t, srv.url+"/rtc/validate?access_token="+url.QueryEscape(grant.Token), nil); status != http.StatusForbidden {
		t.Errorf("/rtc/validate with the deactivated student's token: HTTP %d %q, want 403", status, body)
	}
	// Other accounts are not affected.
	var tg struct{ Token string }
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "math-3-2"}, &tg)
	join(t, ctx, srv, tg.Token, client.Options{})
}
