package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

func TestCheckKey(t *testing.T) {
	for _, k := range []string{"a", "recordings/1/x.webm", "a.b/c-d_e"} {
		if err := CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "/abs", "a/../b", "..", "a//b", "a/./b", "a\\b", "a/", "a\x00b"} {
		if err := CheckKey(k); !errors.Is(err, ErrBadKey) {
			t.Errorf("CheckKey(%q) = %v; want ErrBadKey", k, err)
		}
	}
}

func TestLocal(t *testing.T) {
	ctx := context.Background()
	l := &Local{Dir: t.TempDir()}
	if _, err := l.Open(ctx, "x/y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing: %v", err)
	}
	data := bytes.Repeat([]byte("云课"), 1000)
	if err := l.Put(ctx, "x/y", bytes.NewReader(data), int64(len(data)), "video/webm"); err != nil {
		t.Fatal(err)
	}
	o, err := l.Open(ctx, "x/y")
	if err != nil {
		t.Fatal(err)
	}
	if o.Info().Size != int64(len(data)) {
		t.Fatalf("size %d", o.Info().Size)
	}
	if _, err := o.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	o.Close()
	if err != nil || !bytes.Equal(got, data[6:]) {
		t.Fatalf("read after seek: %v", err)
	}
	if err := l.Put(ctx, "../escape", bytes.NewReader(nil), 0, ""); !errors.Is(err, ErrBadKey) {
		t.Fatalf("put outside the store: %v", err)
	}
	if err := l.Delete(ctx, "x/y"); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "x/y"); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := l.Stat(ctx, "x/y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat deleted: %v", err)
	}
}
