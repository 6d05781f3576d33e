// Package blob keeps media files — recordings, uploaded micro-lessons —
// by key: on the local disk by default, or in an S3-compatible object
// store in production. Keys are slash-separated relative paths chosen by
// the caller ("recordings/17/camera-TR_x.webm"); they never start with a
// slash and never contain "..".
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Store keeps blobs by key.
type Store interface {
	// Put stores r (size bytes, -1 if unknown) under key, replacing what
	// was there; the blob is visible only once complete.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open reads a blob; it answers ErrNotFound for a missing key.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes a blob without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes a blob; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// SignedURL is a short-lived URL a browser may fetch the blob from
	// directly, or "" when the store serves no such URLs (the local disk):
	// the caller then serves the blob itself.
	SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// DownloadSigner is a Store whose signed URLs can also make the browser
// save the blob: the answer carries the Content-Disposition header
// disposition.
type DownloadSigner interface {
	SignedDownloadURL(ctx context.Context, key string, ttl time.Duration, disposition string) (string, error)
}

// Object is an open blob: seekable, so that HTTP Range requests can be
// served from it.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Info describes a blob.
type Info struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
}

// ErrNotFound is a key with no blob.
var ErrNotFound = errors.New("blob: not found")

// ErrBadKey is a key that is empty, absolute or climbs out of the store.
var ErrBadKey = errors.New("blob: bad key")

// CheckKey reports whether key is a clean relative path.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("%w: %q", ErrBadKey, key)
		}
	}
	return nil
}

// Local keeps blobs as files under a directory.
type Local struct {
	Dir string
}

var _ Store = (*Local)(nil)

// Path is the file of key (for tools that need a file, such as ffmpeg).
func (l *Local) Path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.Dir, filepath.FromSlash(key)), nil
}

// Put implements Store: it writes a temporary file beside the blob and
// renames it into place once complete and synced.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, _ int64, _ string) error {
	p, err := l.Path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		f.Close()
		return fmt.Errorf("blob: write %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("blob: sync %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob: close %s: %w", key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// Open implements Store.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	p, err := l.Path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &localObject{File: f, info: Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}}, nil
}

// Stat implements Store.
func (l *Local) Stat(_ context.Context, key string) (Info, error) {
	p, err := l.Path(key)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete implements Store.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.Path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// SignedURL implements Store: the local disk has none.
func (l *Local) SignedURL(context.Context, string, time.Duration) (string, error) { return "", nil }

type localObject struct {
	*os.File
	info Info
}

func (o *localObject) Info() Info { return o.info }

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
