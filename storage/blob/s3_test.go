package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3 serves an in-process S3-compatible server on a loopback port and
// returns its host:port and backend, with bucket "media" created.
func fakeS3(t *testing.T) (string, *s3mem.Backend) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), be
}

func newS3(t *testing.T, endpoint, prefix string) *S3 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := NewS3(ctx, S3Params{Endpoint: endpoint, Bucket: "media", AccessKey: "yunke", SecretKey: "s3cr3t-key-never-shown", Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3(t *testing.T) {
	t.Parallel()
	endpoint, _ := fakeS3(t)
	s := newS3(t, endpoint, "yunke/")
	testStore(t, s)

	ctx := context.Background()
	data := []byte(strings.Repeat("0123456789", 100))
	if err := s.Put(ctx, "v/1.webm", bytes.NewReader(data), int64(len(data)), "video/webm"); err != nil {
		t.Fatal(err)
	}
	t.Run("prefix", func(t *testing.T) {
		// The same bucket without the prefix sees the object under it.
		plain := newS3(t, endpoint, "")
		if info, err := plain.Stat(ctx, "yunke/v/1.webm"); err != nil || info.Size != int64(len(data)) {
			t.Fatalf("object under the prefix: %+v, %v", info, err)
		}
		if _, err := plain.Stat(ctx, "v/1.webm"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("object outside the prefix: %v", err)
		}
	})
	t.Run("signed URL", func(t *testing.T) {
		u, err := s.SignedURL(ctx, "v/1.webm", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u, "X-Amz-Expires=60") || !strings.Contains(u, "X-Amz-Signature=") || strings.Contains(u, "s3cr3t") {
			t.Fatalf("signed URL %q", u)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("GET signed URL: %d, %d bytes, %v", resp.StatusCode, len(got), err)
		}
		// A range of it, as a browser's <video> asks.
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Range", "bytes=10-19")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || string(got) != "0123456789" {
			t.Fatalf("range of signed URL: %d %q", resp.StatusCode, got)
		}
		d, err := s.SignedDownloadURL(ctx, "v/1.webm", time.Minute, `attachment; filename="lesson.webm"`)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = http.Get(d)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cd := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK || cd != `attachment; filename="lesson.webm"` {
			t.Fatalf("download URL: %d, Content-Disposition %q", resp.StatusCode, cd)
		}
		for _, ttl := range []time.Duration{0, time.Millisecond, 8 * 24 * time.Hour} {
			if _, err := s.SignedURL(ctx, "v/1.webm", ttl); err == nil {
				t.Errorf("SignedURL with ttl %v: no error", ttl)
			}
		}
	})
	t.Run("unknown size", func(t *testing.T) {
		// A seekable reader is measured. (A stream goes as a multipart
		// upload, whose aws-chunked parts gofakes3 stores undecoded, so
		// that path is left to a real MinIO.)
		if err := s.Put(ctx, "v/2.mp4", strings.NewReader("moov"), -1, "video/mp4"); err != nil {
			t.Fatal(err)
		}
		info, err := s.Stat(ctx, "v/2.mp4")
		if err != nil || info.Size != 4 || info.ContentType != "video/mp4" {
			t.Fatalf("stat: %+v, %v", info, err)
		}
	})
}

func TestS3NoBucket(t *testing.T) {
	t.Parallel()
	endpoint, _ := fakeS3(t)
	_, err := NewS3(context.Background(), S3Params{Endpoint: endpoint, Bucket: "missing", AccessKey: "a", SecretKey: "s3cr3t-key-never-shown"})
	if err == nil || !strings.Contains(err.Error(), `"missing" does not exist`) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("NewS3 on a missing bucket: %v", err)
	}
	if _, err := NewS3(context.Background(), S3Params{Endpoint: endpoint, Bucket: "media", Prefix: "../up"}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("NewS3 with a bad prefix: %v", err)
	}
}

func TestLocalStore(t *testing.T) {
	t.Parallel()
	testStore(t, &Local{Dir: t.TempDir()})
}

// testStore is what every Store does, whatever keeps the bytes.
func testStore(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Open(ctx, "x/y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing: %v", err)
	}
	if _, err := s.Stat(ctx, "x/y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
	data := bytes.Repeat([]byte("云课"), 10000)
	if err := s.Put(ctx, "x/y", bytes.NewReader(data), int64(len(data)), "video/webm"); err != nil {
		t.Fatal(err)
	}
	// Put replaces.
	if err := s.Put(ctx, "x/y", bytes.NewReader(data[6:]), int64(len(data)-6), "video/webm"); err != nil {
		t.Fatal(err)
	}
	data = data[6:]
	info, err := s.Stat(ctx, "x/y")
	if err != nil || info.Size != int64(len(data)) || info.Key != "x/y" || info.ModTime.IsZero() {
		t.Fatalf("stat: %+v, %v", info, err)
	}

	o, err := s.Open(ctx, "x/y")
	if err != nil {
		t.Fatal(err)
	}
	if o.Info().Size != int64(len(data)) {
		t.Fatalf("size %d", o.Info().Size)
	}
	if _, err := o.Seek(600, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(o, buf); err != nil || string(buf) != "云课" {
		t.Fatalf("read after seek: %q, %v", buf, err)
	}
	if end, err := o.Seek(-6, io.SeekEnd); err != nil || end != int64(len(data))-6 {
		t.Fatalf("seek from the end: %d, %v", end, err)
	}
	rest, err := io.ReadAll(o)
	if err != nil || string(rest) != "云课" {
		t.Fatalf("read the tail: %q, %v", rest, err)
	}
	if _, err := o.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	// An HTTP Range request served from the object.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v", nil)
	req.Header.Set("Range", "bytes=3-8")
	http.ServeContent(rec, req, "v.webm", o.Info().ModTime, o)
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "课云" ||
		rec.Header().Get("Content-Range") != "bytes 3-8/"+strconv.Itoa(len(data)) {
		t.Fatalf("range: %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Range"))
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{"", "/abs", "../escape", "a/../../b", "a//b"} {
		if err := s.Put(ctx, key, bytes.NewReader(nil), 0, ""); !errors.Is(err, ErrBadKey) {
			t.Errorf("put %q: %v", key, err)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, ErrBadKey) {
			t.Errorf("open %q: %v", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrBadKey) {
			t.Errorf("stat %q: %v", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, ErrBadKey) {
			t.Errorf("delete %q: %v", key, err)
		}
		if _, err := s.SignedURL(ctx, key, time.Minute); !errors.Is(err, ErrBadKey) && err != nil {
			t.Errorf("signed URL %q: %v", key, err)
		}
	}

	if err := s.Delete(ctx, "x/y"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "x/y"); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := s.Stat(ctx, "x/y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat deleted: %v", err)
	}
	if _, err := s.Open(ctx, "x/y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open deleted: %v", err)
	}
}
