package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"yunke/server/config"
)

// TestMetricsApartFromApp: /metrics is served on its own listener, not on
// the app's port; that listener serves nothing else; the banner names it.
func TestMetricsApartFromApp(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	if status, body := httpGet(t, srv.url+"/metrics", nil); status != http.StatusNotFound || strings.Contains(body, "yunke_") {
		t.Errorf("/metrics on the app's port: HTTP %d %.100q, want 404", status, body)
	}
	m := srv.MetricsURL()
	if !strings.HasPrefix(m, "http://127.0.0.1:") || !strings.HasSuffix(m, "/metrics") {
		t.Fatalf("MetricsURL = %q", m)
	}
	if status, body := httpGet(t, m, nil); status != http.StatusOK || !strings.Contains(body, "yunke_rooms") {
		t.Errorf("metrics listener: HTTP %d %.100q", status, body)
	}
	base := strings.TrimSuffix(m, "/metrics")
	for _, p := range []string{"/", "/healthz", "/api/v1/server"} {
		if status, _ := httpGet(t, base+p, nil); status != http.StatusNotFound {
			t.Errorf("metrics listener %s: HTTP %d, want 404", p, status)
		}
	}
	var banner bytes.Buffer
	srv.PrintBanner(&banner)
	if !strings.Contains(banner.String(), "Metrics:     "+m+"\n") || strings.Contains(banner.String(), srv.url+"/metrics") {
		t.Errorf("banner:\n%s\nwant a Metrics line naming %s, and no /metrics on the app's port", banner.String(), m)
	}
}

// TestMetricsTokenOnMainPort: with metrics.token set, the app's port also
// serves /metrics, to the bearer of the token only.
func TestMetricsTokenOnMainPort(t *testing.T) {
	t.Parallel()
	const tok = "scrape-0123456789abcdef"
	srv := startServer(t, withConfig(func(c *config.Config) { c.Metrics.Address, c.Metrics.Token = "", tok }))
	if m := srv.MetricsURL(); m != "" {
		t.Errorf("MetricsURL = %q with metrics.address empty", m)
	}
	for _, h := range []string{"", "Bearer", "Bearer wrong-token-0123456789", "Basic " + tok, "Bearer " + tok + "x"} {
		hdr := http.Header{}
		if h != "" {
			hdr.Set("Authorization", h)
		}
		if status, body := httpGet(t, srv.url+"/metrics", hdr); status != http.StatusUnauthorized || strings.Contains(body, "yunke_") {
			t.Errorf("Authorization %q: HTTP %d, want 401", h, status)
		}
	}
	status, body := httpGet(t, srv.url+"/metrics", http.Header{"Authorization": {"Bearer " + tok}})
	if status != http.StatusOK || !strings.Contains(body, "yunke_rooms") {
		t.Errorf("with the token: HTTP %d %.100q", status, body)
	}
	var banner bytes.Buffer
	srv.PrintBanner(&banner)
	if strings.Contains(banner.String(), tok) || !strings.Contains(banner.String(), "bearer token") {
		t.Errorf("banner:\n%s\nwant the metrics line without the token", banner.String())
	}
}
