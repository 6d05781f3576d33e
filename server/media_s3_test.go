package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"yunke/server"
	"yunke/server/config"
)

// fakeS3 serves an in-process S3-compatible server on a loopback port with
// the bucket "yunke-media", and returns its host:port.
func fakeS3(t *testing.T) string {
	t.Helper()
	host, _ := fakeS3Backend(t)
	return host
}

// fakeS3Backend is fakeS3 with the store's backend, to look inside it.
func fakeS3Backend(t *testing.T) (string, *s3mem.Backend) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("yunke-media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), be
}

func withS3(endpoint, bucket string) serverOption {
	return withConfig(func(c *config.Config) {
		c.Media = config.MediaConfig{Store: config.MediaS3, S3: config.S3Config{Endpoint: endpoint, Bucket: bucket,
			AccessKey: "yunke", SecretKey: "media-secret-never-logged", Region: "us-east-1", Prefix: "site-a"}}
	})
}

// With media.store s3, a filed micro-lesson's video goes to the object
// store under microlessons/, and watching it redirects to a presigned URL
// that serves it, ranges included.
func TestMicrolessonOnObjectStore(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withS3(fakeS3(t), "yunke-media"))
	fx := newFixture(t, srv)
	teacher := fx.users["teacher"]
	video := testVideo(t, "h264_aac.mp4")
	uploadID := tus{teacher}.upload(video, "lesson.mp4")
	var m lesson
	teacher.must(201, "POST", "/api/v1/microlessons", map[string]any{"upload_id": uploadID, "title": "对象存储",
		"subject_id": fx.subject, "grade": 3}, &m)

	noFollow := *teacher.hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(srv.url + "/api/v1/microlessons/videos/" + itoa(m.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/yunke-media/site-a/microlessons/videos/") ||
		!strings.Contains(loc, "X-Amz-Signature=") || strings.Contains(loc, "media-secret") {
		t.Fatalf("video: %d, Location %q", resp.StatusCode, loc)
	}
	req, _ := http.NewRequest("GET", loc, nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, video[100:200]) {
		t.Fatalf("range of the presigned URL: %d, %d bytes", resp.StatusCode, len(got))
	}
	// ?download=1 signs a URL whose answer makes the browser save the file.
	resp, err = noFollow.Get(srv.url + "/api/v1/microlessons/videos/" + itoa(m.ID) + "?download=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(cd, `attachment; filename="microlesson-`) || !strings.Contains(cd, "filename*=UTF-8''%E5%AF%B9") {
		t.Errorf("download: %d, Content-Disposition %q", resp.StatusCode, cd)
	}
	// A student does not get a URL to a micro-lesson not yet published.
	if r := fx.users["student"].send("GET", "/api/v1/microlessons/videos/"+itoa(m.ID), nil); r.status != http.StatusForbidden {
		t.Errorf("student: %v", r)
	}
	if strings.Contains(srv.logs.tail(1<<20), "media-secret") {
		t.Error("the secret key is in the log")
	}
}

// A missing bucket stops the server at start, naming the bucket.
func TestObjectStoreMissingBucket(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Development, cfg.BindAddresses, cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = true, []string{"127.0.0.1"}, 0, 0, 0
	cfg.Keys = map[string]string{apiKey: apiSecret}
	cfg.Metrics.Address = ""
	cfg.Database.Path = t.TempDir() + "/yunke.db"
	withS3(fakeS3(t), "no-such-bucket")(cfg, nil)
	_, err := server.New(server.Params{Config: cfg, Password: fastPasswords})
	if err == nil || !strings.Contains(err.Error(), `"no-such-bucket" does not exist`) || strings.Contains(err.Error(), "media-secret") {
		t.Fatalf("server.New: %v", err)
	}
}
