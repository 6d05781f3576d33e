package qa_test

import (
	"bytes"
	"strings"
	"testing"

	"yunke/server/qa"
	"yunke/storage"
)

// TestRenderRefusesScript: raw HTML, script and data links, event
// handlers and SVG never survive rendering; the Markdown subset does.
func TestRenderRefusesScript(t *testing.T) {
	s := qa.New(qa.Params{})
	for _, src := range []string{
		"<script>alert(1)</script>",
		"[x](javascript:alert(1))",
		"[x](JaVaScRiPt:alert(1))",
		"[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
		"![x](javascript:alert(1))",
		`<img src=x onerror="alert(1)">`,
		`<svg onload=alert(1)></svg>`,
		`<a href="javascript:alert(1)">x</a>`,
		"<iframe src=https://evil.example></iframe>",
		`[x](https://ok.example "t\" onmouseover=\"alert(1)")`,
	} {
		html := strings.ToLower(s.Render(src))
		for _, bad := range []string{"<script", "javascript:", "data:text", "onerror", "onload", "onmouseover", "<svg", "<iframe"} {
			if strings.Contains(html, bad) {
				t.Errorf("%q rendered %q (contains %s)", src, html, bad)
			}
		}
	}
	html := s.Render("**粗** *斜* `code`\n\n- 一\n- 二\n\n[链接](https://example.com)")
	for _, want := range []string{"<strong>粗</strong>", "<em>斜</em>", "<code>code</code>", "<li>一</li>", `href="https://example.com"`, `rel="nofollow"`} {
		if !strings.Contains(html, want) {
			t.Errorf("rendered %q lacks %s", html, want)
		}
	}
}

// TestImages: type from content, SVG and HTML refused, JPEG metadata dropped, count capped.
func TestImages(t *testing.T) {
	s := qa.New(qa.Params{MaxImages: 2})
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 10, 'E', 'x', 'i', 'f', 0, 0, 'G', 'P', 0xFF, 0xFE, 0, 4, 'h', 'i', 0xFF, 0xDB, 0, 3, 1, 0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9}
	out, err := s.Images([][]byte{jpeg})
	if err != nil || len(out) != 1 || out[0].Type != "image/jpeg" {
		t.Fatalf("jpeg: %+v %v", out, err)
	}
	if bytes.Contains(out[0].Data, []byte("Exif")) || bytes.Contains(out[0].Data, []byte("hi")) ||
		!bytes.Equal(out[0].Data, []byte{0xFF, 0xD8, 0xFF, 0xDB, 0, 3, 1, 0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9}) {
		t.Fatalf("metadata kept: % x", out[0].Data)
	}
	for _, bad := range [][]byte{[]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), []byte("<html><script>x</script>"), []byte("GIF89a....")} {
		if _, err := s.Images([][]byte{bad}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := s.Images([][]byte{jpeg, jpeg, jpeg}); err == nil {
		t.Error("three pictures accepted with MaxImages 2")
	}
	if _, err := s.Images([][]byte{make([]byte, storage.MaxQAImage+1)}); err == nil {
		t.Error("an oversized picture accepted")
	}
	// A truncated stream cannot be cleaned, so it is refused rather than stored with its metadata.
	if _, err := s.Images([][]byte{jpeg[:12]}); err == nil {
		t.Error("a truncated JPEG accepted")
	}
}
