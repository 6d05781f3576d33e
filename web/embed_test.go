package web

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

const testIndex = `<!doctype html><html><body><div id="app"></div><script type="module" src="/assets/index-abc123.js"></script></body></html>`

func builtFS() fstest.MapFS {
	return fstest.MapFS{
		".keep":                   {Data: nil},
		"index.html":              {Data: []byte(testIndex)},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		"assets/index-abc123.js":  {Data: []byte(`console.log("yunke")`)},
		"assets/index-def456.css": {Data: []byte(`body{margin:0}`)},
		"assets/logo-0a1b2c.png":  {Data: []byte("\x89PNG\r\n\x1a\n")},
	}
}

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesFiles(t *testing.T) {
	h := NewHandler(builtFS())
	cases := []struct {
		path, contentType, cache, body string
	}{
		{"/", "text/html; charset=utf-8", "no-cache", testIndex},
		{"/index.html", "text/html; charset=utf-8", "no-cache", testIndex},
		{"/assets/index-abc123.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", `console.log("yunke")`},
		{"/assets/index-def456.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", `body{margin:0}`},
		{"/assets/logo-0a1b2c.png", "image/png", "public, max-age=31536000, immutable", "\x89PNG\r\n\x1a\n"},
		{"/favicon.svg", "image/svg+xml", "no-cache", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp := do(t, h, http.MethodGet, c.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != c.contentType {
				t.Errorf("Content-Type %q, want %q", got, c.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != c.cache {
				t.Errorf("Cache-Control %q, want %q", got, c.cache)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := body(t, resp); got != c.body {
				t.Errorf("body %q, want %q", got, c.body)
			}
		})
	}
}

func TestHandlerFallsBackToIndex(t *testing.T) {
	h := NewHandler(builtFS())
	for _, p := range []string{"/room/demo", "/classes/123/review", "/deep/link?x=1", "/.keep", "/assets", "/../../etc/passwd", "/apix", "/rtcfoo"} {
		t.Run(p, func(t *testing.T) {
			resp := do(t, h, http.MethodGet, p, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			if got := body(t, resp); got != testIndex {
				t.Errorf("body %q, want index.html", got)
			}
		})
	}
}

func TestHandlerLeavesReservedPathsAlone(t *testing.T) {
	h := NewHandler(builtFS())
	for _, p := range []string{"/api", "/api/v1/nope", "/rtc", "/rtc/v1", "/rtc/v1/validate", "/twirp/livekit.RoomService/ListRooms", "/assets/index-old999.js"} {
		t.Run(p, func(t *testing.T) {
			resp := do(t, h, http.MethodGet, p, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", resp.StatusCode)
			}
			b := body(t, resp)
			if strings.Contains(b, "<html") {
				t.Errorf("reserved path answered with HTML: %q", b)
			}
			if strings.HasPrefix(p, "/api") {
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				if !strings.Contains(b, `"code":"not_found"`) {
					t.Errorf("body %q lacks the API error shape", b)
				}
			}
		})
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	h := NewHandler(fstest.MapFS{".keep": {Data: nil}})
	for _, p := range []string{"/", "/room/demo", "/index.html"} {
		resp := do(t, h, http.MethodGet, p, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d, want 503", p, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", p, got)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", p, got)
		}
		b := body(t, resp)
		if !strings.Contains(b, "make web") || !strings.Contains(b, "not built") {
			t.Errorf("%s: page does not explain how to build the front end: %q", p, b)
		}
	}
	// The API prefix still answers as the API would.
	if resp := do(t, h, http.MethodGet, "/api/v1/x", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api/v1/x: status %d, want 404", resp.StatusCode)
	}
}

func TestHandlerConditionalAndMethods(t *testing.T) {
	h := NewHandler(builtFS())

	first := do(t, h, http.MethodGet, "/assets/index-abc123.js", nil)
	etag := first.Header.Get("ETag")
	if etag == "" || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q, want a strong validator", etag)
	}
	again := do(t, h, http.MethodGet, "/assets/index-abc123.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", again.StatusCode)
	}
	if other := do(t, h, http.MethodGet, "/", nil).Header.Get("ETag"); other == etag {
		t.Errorf("index.html and a bundle share ETag %q", etag)
	}

	head := do(t, h, http.MethodHead, "/", nil)
	if head.StatusCode != http.StatusOK {
		t.Errorf("HEAD: status %d", head.StatusCode)
	}
	if b := body(t, head); b != "" {
		t.Errorf("HEAD returned a body: %q", b)
	}

	post := do(t, h, http.MethodPost, "/", nil)
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", post.StatusCode)
	}
	if allow := post.Header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow %q", allow)
	}

	ranged := do(t, h, http.MethodGet, "/assets/index-abc123.js", map[string]string{"Range": "bytes=0-6"})
	if ranged.StatusCode != http.StatusPartialContent || body(t, ranged) != "console" {
		t.Errorf("Range: status %d", ranged.StatusCode)
	}
}

// The embedded build is either the real app or just dist/.keep; either way
// Handler must answer sensibly.
func TestEmbeddedHandler(t *testing.T) {
	h := Handler()
	resp := do(t, h, http.MethodGet, "/", nil)
	switch resp.StatusCode {
	case http.StatusOK:
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if b := body(t, resp); !strings.Contains(b, `<div id="app"`) && !strings.Contains(b, "/assets/") {
			t.Errorf("index.html does not look like the built app: %.200q", b)
		}
	case http.StatusServiceUnavailable:
		t.Log("front end not built; embedded handler serves the placeholder page")
	default:
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp := do(t, h, http.MethodGet, "/.keep", nil); resp.StatusCode == http.StatusOK && body(t, resp) == "" {
		t.Errorf("/.keep was served as a file")
	}
}

// cspDirectives parses a Content-Security-Policy into directive → sources.
func cspDirectives(t *testing.T, policy string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("directive %s given twice in %q", f[0], policy)
		}
		out[f[0]] = f[1:]
	}
	return out
}

// TestHandlerSecurityHeaders: every answer, the app's pages above all,
// carries a strict Content-Security-Policy and refuses to be framed.
func TestHandlerSecurityHeaders(t *testing.T) {
	h := NewHandler(builtFS())
	want := map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"img-src":         "'self' data: blob:",
		"media-src":       "'self' blob: mediastream:",
		"connect-src":     "'self' ws: wss: http: https:",
		"worker-src":      "'self' blob:",
		"object-src":      "'none'",
		"base-uri":        "'self'",
		"form-action":     "'self'",
		"frame-ancestors": "'none'",
	}
	for _, p := range []string{"/", "/index.html", "/room/demo", "/assets/index-abc123.js", "/favicon.svg", "/assets/index-old999.js", "/api/v1/nope"} {
		t.Run(p, func(t *testing.T) {
			resp := do(t, h, http.MethodGet, p, nil)
			got := cspDirectives(t, resp.Header.Get("Content-Security-Policy"))
			for d, v := range want {
				if strings.Join(got[d], " ") != v {
					t.Errorf("%s %q, want %q", d, strings.Join(got[d], " "), v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("policy has %d directives, want %d: %v", len(got), len(want), got)
			}
			for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
				if resp.Header.Get(k) != v {
					t.Errorf("%s %q, want %q", k, resp.Header.Get(k), v)
				}
			}
		})
	}
}

// TestNotBuiltPagePolicy: the placeholder page's policy allows its one
// inline style, by hash, and nothing else.
func TestNotBuiltPagePolicy(t *testing.T) {
	resp := do(t, NewHandler(fstest.MapFS{}), http.MethodGet, "/", nil)
	b := body(t, resp)
	start, end := strings.Index(b, "<style>"), strings.Index(b, "</style>")
	if start < 0 || end < start {
		t.Fatalf("no style element in %q", b)
	}
	sum := sha256.Sum256([]byte(b[start+len("<style>") : end]))
	got := cspDirectives(t, resp.Header.Get("Content-Security-Policy"))
	if s := strings.Join(got["style-src"], " "); s != "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'" {
		t.Errorf("style-src %q does not allow the page's style by its hash", s)
	}
	if strings.Join(got["default-src"], " ") != "'none'" || strings.Join(got["frame-ancestors"], " ") != "'none'" {
		t.Errorf("policy %v", got)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
	}
}

// inlineCode finds what the app's policy would block in an HTML page:
// inline scripts, style elements, style attributes and event handler
// attributes.
var inlineCode = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]|<style[\s>]|\sstyle\s*=|\son[a-z]+\s*=`)

// TestAppPagesHaveNoInlineCode: index.html, as written and as built, has
// nothing the Content-Security-Policy would block.
func TestAppPagesHaveNoInlineCode(t *testing.T) {
	src, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	if m := inlineCode.Find(src); m != nil {
		t.Errorf("index.html has inline code the policy blocks: %q", m)
	}
	if built, err := fs.ReadFile(embedded, "dist/index.html"); err == nil {
		if m := inlineCode.Find(built); m != nil {
			t.Errorf("the built index.html has inline code the policy blocks: %q", m)
		}
	}
	if m := inlineCode.FindString(`<div style="color:red">`); m == "" {
		t.Error("the check misses a style attribute")
	}
	if m := inlineCode.FindString(`<script>alert(1)</script>`); m == "" {
		t.Error("the check misses an inline script")
	}
}

// TestMediaOrigins: an object store's origin joins media-src, and only a
// plain http(s) origin does (nothing can smuggle a directive in).
func TestMediaOrigins(t *testing.T) {
	h := NewHandler(builtFS(), MediaOrigins("https://minio.example.edu:9000", "http://10.0.0.5:9000",
		"javascript:alert(1)", "https://evil.example/path", "https://a.example; script-src *", "https://u:p@b.example", ""))
	resp := do(t, h, http.MethodGet, "/", nil)
	got := cspDirectives(t, resp.Header.Get("Content-Security-Policy"))
	if want := "'self' blob: mediastream: https://minio.example.edu:9000 http://10.0.0.5:9000"; strings.Join(got["media-src"], " ") != want {
		t.Errorf("media-src %q, want %q", strings.Join(got["media-src"], " "), want)
	}
	if strings.Join(got["script-src"], " ") != "'self'" || len(got) != 11 {
		t.Errorf("the rest of the policy changed: %v", got)
	}
}
