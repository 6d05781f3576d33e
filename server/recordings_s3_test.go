package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"yunke/server/config"
	"yunke/server/recording/recordingtest"
	"yunke/signaling/client"
)

// objects lists the keys under prefix in the fake store's bucket.
func objects(t *testing.T, be *s3mem.Backend, prefix string) []string {
	t.Helper()
	p := gofakes3.NewPrefix(&prefix, nil)
	list, err := be.ListBucket("yunke-media", &p, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// TestRecordingOnObjectStore: with media.store s3 (an S3-compatible server
// on loopback), a finished recording's files are uploaded under
// recordings/<id>/ and leave the node's disk only once the store holds
// them; media and the download are answered with a 302 to a presigned URL
// valid ten minutes (the bytes come from the store, Range included;
// nothing is proxied or public); deleting removes the objects.
func TestRecordingOnObjectStore(t *testing.T) {
	t.Parallel()
	endpoint, be := fakeS3Backend(t)
	dir := t.TempDir()
	srv := startServer(t, withS3(endpoint, "yunke-media"), withConfig(func(c *config.Config) { c.Recording.Dir = dir }))
	fx := newFixture(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var grant struct{ Token string }
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "s3-class"}, &grant)
	teacher := join(t, ctx, srv, grant.Token, client.Options{})
	pub, err := recordingtest.Publish(ctx, teacher)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	var list struct{ Items []recView }
	if !pollUntil(10*time.Second, func() bool {
		fx.users["teacher"].must(200, "GET", "/api/v1/recordings", nil, &list)
		return len(list.Items) == 1
	}) {
		t.Fatal("not recorded")
	}
	id := itoa(list.Items[0].ID)
	var rec recView
	if !pollUntil(20*time.Second, func() bool {
		fx.users["teacher"].must(200, "GET", "/api/v1/recordings/"+id, nil, &rec)
		return rec.DurationMS >= 2000 && len(rec.Tracks) == 2
	}) {
		t.Fatalf("recording %+v", rec)
	}
	room := "s" + itoa(fx.schoolA) + "-s3-class"
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/"+room+"/recording", map[string]string{"action": "stop"}, nil)
	_ = pub.Stop()

	// Uploaded by a job; the working directory empties only then.
	prefix := "site-a/recordings/" + id + "/"
	work := filepath.Join(dir, "work", id)
	if !pollUntil(20*time.Second, func() bool {
		_, err := os.Stat(work)
		return os.IsNotExist(err)
	}) {
		t.Fatalf("the working directory stays: objects %v", objects(t, be, prefix))
	}
	if keys := objects(t, be, prefix); len(keys) != 2 {
		t.Fatalf("objects after the upload: %v", keys)
	}
	if _, err := os.Stat(filepath.Join(dir, "media")); !os.IsNotExist(err) {
		t.Errorf("media on the local disk too: %v", err)
	}

	noFollow := *fx.users["expert"].hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	fx.users["expert"].must(200, "GET", "/api/v1/recordings/"+id, nil, &rec)
	signed := func(path string) string {
		t.Helper()
		resp, err := noFollow.Get(srv.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		u, err := url.Parse(loc)
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(u.Path, "/yunke-media/"+prefix) {
			t.Fatalf("%s: %d, Location %q", path, resp.StatusCode, loc)
		}
		q := u.Query()
		if exp, err := strconv.Atoi(q.Get("X-Amz-Expires")); q.Get("X-Amz-Signature") == "" || err != nil || exp > 600 ||
			strings.Contains(loc, "media-secret") {
			t.Fatalf("%s: not a short-lived signed URL: %q", path, loc)
		}
		return loc
	}
	for _, tr := range rec.Tracks {
		loc := signed(tr.URL)
		req, _ := http.NewRequest("GET", loc, nil)
		req.Header.Set("Range", "bytes=0-99")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || len(b) != 100 || string(b[:4]) != "\x1a\x45\xdf\xa3" {
			t.Fatalf("range of %s from the store: %d, %d bytes", tr.Source, resp.StatusCode, len(b))
		}
		// The whole file, from the store, decodes.
		resp, err = http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if int64(len(b)) != tr.SizeBytes {
			t.Fatalf("%s from the store: %d bytes of %d", tr.Source, len(b), tr.SizeBytes)
		}
		ffmpegDecodes(t, saveBody(t, b, tr.Source+".webm"))
	}
	// The download is remuxed once, kept in the store, and saved.
	loc := signed("/api/v1/recordings/" + id + "/download")
	resp, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download from the store: %d %v", resp.StatusCode, resp.Header)
	}
	ffmpegDecodes(t, saveBody(t, b, "download.webm"))
	// An outsider gets no URL.
	if r := fx.users["student"].send("GET", rec.Tracks[0].URL, nil); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Errorf("student: %v", r)
	}

	fx.users["school_admin"].must(204, "DELETE", "/api/v1/recordings/"+id, nil, nil)
	if !pollUntil(20*time.Second, func() bool { return len(objects(t, be, prefix)) == 0 }) {
		t.Fatalf("objects after delete: %v", objects(t, be, prefix))
	}
	if strings.Contains(srv.logs.tail(1<<20), "media-secret") {
		t.Error("the secret key is in the log")
	}
}
