// Package web is Yunke's browser front end. The app itself is a Vite +
// TypeScript project in this directory; `npm run build` (or `make web`)
// writes it to dist/, which is embedded into the server binary and served by
// Handler.
//
// Handler serves the single-page app: files that exist are served as they
// are (hashed bundles under /assets/ with a long immutable cache lifetime,
// everything else revalidated), and any other path outside the API and
// signaling prefixes gets index.html so that client-side routes work. A binary
// built before the front end answers with a short page saying so.
//
// Every answer carries a strict Content-Security-Policy (contentSecurityPolicy)
// and headers that keep the app out of other sites' frames.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var embedded embed.FS

// Handler serves the front end embedded at build time.
func Handler(opts ...Option) http.Handler {
	dist, err := fs.Sub(embedded, "dist")
	if err != nil {
		// fs.Sub only fails for an invalid directory name.
		panic(err)
	}
	return NewHandler(dist, opts...)
}

// Option adjusts the handler.
type Option func(*handler)

// MediaOrigins lets the app play media from these origins too
// ("https://minio.example.edu:9000"): an object store whose short-lived
// signed URLs the API redirects recordings and videos to. Anything that
// is not a plain http(s) origin is ignored.
func MediaOrigins(origins ...string) Option {
	return func(h *handler) {
		for _, o := range origins {
			if u, err := url.Parse(o); err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
				u.Host != "" && u.Path == "" && u.RawQuery == "" && u.User == nil && !strings.ContainsAny(o, " ;,'\"") {
				h.mediaOrigins = append(h.mediaOrigins, u.Scheme+"://"+u.Host)
			}
		}
	}
}

// NewHandler serves the single-page app found at the root of fsys.
func NewHandler(fsys fs.FS, opts ...Option) http.Handler {
	h := &handler{fsys: fsys}
	for _, o := range opts {
		o(h)
	}
	h.csp = contentSecurityPolicy
	if len(h.mediaOrigins) > 0 {
		h.csp = strings.Replace(h.csp, "media-src 'self' blob: mediastream:;",
			"media-src 'self' blob: mediastream: "+strings.Join(h.mediaOrigins, " ")+";", 1)
	}
	return h
}

const (
	indexFile = "index.html"

	cacheImmutable = "public, max-age=31536000, immutable"
	cacheRevalid   = "no-cache"
)

// contentSecurityPolicy lets the app run only its own code:
//
//   - scripts and styles come only from this origin: the build has no inline
//     script, style element or style attribute (the element.style that
//     livekit-client and the app set through the CSSOM is not governed by
//     CSP);
//   - pictures may be data: and blob: URLs (a chosen picture is previewed
//     from a blob before it is uploaded), media blob: and mediastream: (the
//     camera preview and the room's tracks);
//   - connections may go to any ws(s) and http(s) origin: a tutoring session
//     may be hosted by another node (its public_url), and livekit-client
//     reaches that node's /rtc by WebSocket and its /rtc/validate by fetch
//     (which also decides the fall-back from /rtc/v1 to /rtc). On an https
//     page the browser refuses http: and ws: anyway (mixed content);
//   - no plugins, no <base> elsewhere, forms post only here, and no other
//     site may frame the app.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob: mediastream:; " +
	"connect-src 'self' ws: wss: http: https:; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// setSecurityHeaders sets the headers every answer of the handler carries.
func setSecurityHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// Prefixes that belong to the server's other handlers; a miss there must not
// turn into the app's HTML.
var reservedPrefixes = []string{"/api", "/rtc", "/twirp"}

// contentTypes pins the types of the files a Vite build produces, so that
// they do not depend on the host's MIME database.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".wasm":        "application/wasm",
	".txt":         "text/plain; charset=utf-8",
	".mp3":         "audio/mpeg",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

type handler struct {
	fsys         fs.FS
	etags        sync.Map // file name -> strong ETag
	mediaOrigins []string
	csp          string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	urlPath := path.Clean("/" + r.URL.Path)
	for _, p := range reservedPrefixes {
		if urlPath == p || strings.HasPrefix(urlPath, p+"/") {
			notFound(w, r, strings.HasPrefix(urlPath, "/api"))
			return
		}
	}

	name := strings.TrimPrefix(urlPath, "/")
	if name != "" && name != indexFile && !hidden(name) {
		if data, ok := h.read(name); ok {
			cache := cacheRevalid
			if strings.HasPrefix(name, "assets/") {
				cache = cacheImmutable
			}
			h.serve(w, r, name, data, cache)
			return
		}
		// A missing hashed bundle means a stale page asked for an old build:
		// HTML in its place would only fail to parse as a script.
		if strings.HasPrefix(name, "assets/") {
			notFound(w, r, false)
			return
		}
	}

	data, ok := h.read(indexFile)
	if !ok {
		notBuilt(w, r)
		return
	}
	h.serve(w, r, indexFile, data, cacheRevalid)
}

// hidden reports whether a path names a dot file or lies in a dot directory
// (dist/.keep and the like are not part of the site).
func hidden(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

// read returns the contents of a regular file, or false if there is none.
func (h *handler) read(name string) ([]byte, bool) {
	if !fs.ValidPath(name) {
		return nil, false
	}
	f, err := h.fsys.Open(name)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, false
	}
	return data, true
}

func (h *handler) etag(name string, data []byte) string {
	if v, ok := h.etags.Load(name); ok {
		return v.(string)
	}
	sum := sha256.Sum256(data)
	tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	h.etags.Store(name, tag)
	return tag
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, name string, data []byte, cache string) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(name))
	hdr.Set("Cache-Control", cache)
	hdr.Set("ETag", h.etag(name, data))
	setSecurityHeaders(hdr, h.csp)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func notFound(w http.ResponseWriter, r *http.Request, api bool) {
	w.Header().Set("Cache-Control", "no-store")
	setSecurityHeaders(w.Header(), contentSecurityPolicy)
	if api {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such API endpoint"}}`+"\n")
		}
		return
	}
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// notBuiltStyle is the placeholder page's one inline style element, allowed
// by its hash.
const notBuiltStyle = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#1b2333;line-height:1.6}code{background:#f1f5f9;padding:.1em .35em;border-radius:4px}`

var notBuiltPolicy = func() string {
	sum := sha256.Sum256([]byte(notBuiltStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

const notBuiltPage = `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>云课 Yunke</title>
<style>` + notBuiltStyle + `</style></head>
<body>
<h1>前端尚未构建</h1>
<p>这个服务器二进制文件构建时还没有网页前端。请在源码目录运行 <code>make web</code>，然后重新构建服务器。</p>
<h1>The web front end is not built</h1>
<p>This server binary was built without the browser app. Run <code>make web</code> in the source tree, then rebuild the server.</p>
</body>
</html>
`

func notBuilt(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	setSecurityHeaders(hdr, notBuiltPolicy)
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		io.WriteString(w, notBuiltPage)
	}
}
