package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Params say which S3-compatible bucket (MinIO, Ceph RGW, AWS S3, a
// cloud's object storage service) keeps the blobs.
type S3Params struct {
	// Endpoint is host[:port] of the S3 API, without a scheme
	// ("minio.internal:9000", "s3.cn-north-1.amazonaws.com.cn").
	Endpoint string
	// Bucket must exist: NewS3 checks it and never creates it.
	Bucket string
	// AccessKey and SecretKey are the credentials (signature V4).
	AccessKey, SecretKey string
	// Region is the bucket's region; empty is "us-east-1", MinIO's default.
	Region string
	// UseSSL selects https.
	UseSSL bool
	// Prefix, when set, starts every object's name ("yunke/"), so that
	// one bucket can be shared; keys passed to the store exclude it.
	Prefix string
	// Transport replaces the HTTP transport (nil: minio-go's default).
	Transport http.RoundTripper
}

// S3 keeps blobs as objects in an S3-compatible bucket. Objects are never
// public: browsers reach them through SignedURL's presigned GET URLs.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

var (
	_ Store          = (*S3)(nil)
	_ DownloadSigner = (*S3)(nil)
)

// putPartSize is the multipart part size for blobs of unknown size
// (minio-go's own default would buffer far larger parts); 10,000 parts of
// it allow objects up to 160 GiB.
const putPartSize = 16 << 20

// NewS3 connects to the bucket and checks that it exists, so that a wrong
// endpoint, credentials or bucket name fail at start-up, not at the
// first upload. The secret key never appears in an error.
func NewS3(ctx context.Context, p S3Params) (*S3, error) {
	if p.Endpoint == "" || p.Bucket == "" {
		return nil, errors.New("blob: s3: endpoint and bucket are required")
	}
	prefix := strings.Trim(p.Prefix, "/")
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return nil, fmt.Errorf("blob: s3: prefix: %w", err)
		}
		prefix += "/"
	}
	region := p.Region
	if region == "" {
		region = "us-east-1"
	}
	c, err := minio.New(p.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(p.AccessKey, p.SecretKey, ""),
		Secure:    p.UseSSL,
		Region:    region,
		Transport: p.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3 endpoint %q: %w", p.Endpoint, err)
	}
	ok, err := c.BucketExists(ctx, p.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 bucket %q at %s: %w", p.Bucket, p.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: s3 bucket %q does not exist at %s: create it first (mc mb)", p.Bucket, p.Endpoint)
	}
	return &S3{c: c, bucket: p.Bucket, prefix: prefix}, nil
}

// name is the object name of key.
func (s *S3) name(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put implements Store. An object appears only once its upload completes
// (S3 semantics), so a reader never sees half a blob.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if size < 0 {
		// A file of unknown size: measure it, for a single PUT.
		if sk, ok := r.(io.Seeker); ok {
			cur, err1 := sk.Seek(0, io.SeekCurrent)
			end, err2 := sk.Seek(0, io.SeekEnd)
			if _, err3 := sk.Seek(cur, io.SeekStart); err1 == nil && err2 == nil && err3 == nil {
				size = end - cur
			}
		}
	}
	opts := minio.PutObjectOptions{ContentType: contentType}
	if size < 0 {
		// A stream: a multipart upload, one part buffered at a time.
		opts.PartSize = putPartSize
	}
	if _, err := s.c.PutObject(ctx, s.bucket, name, r, size, opts); err != nil {
		return fmt.Errorf("blob: s3 put %s: %w", key, err)
	}
	return nil
}

// Open implements Store. The object is read lazily: each Seek followed by
// a Read asks the server for a range, so serving an HTTP Range request
// does not download the whole blob.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	o, err := s.c.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.err("open", key, err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		return nil, s.err("open", key, err)
	}
	return &s3Object{Object: o, info: s.info(key, st)}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	name, err := s.name(key)
	if err != nil {
		return Info{}, err
	}
	st, err := s.c.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.err("stat", key, err)
	}
	return s.info(key, st), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if err = s.err("delete", key, err); errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// maxSignedTTL is the longest a presigned URL may live (S3's limit).
const maxSignedTTL = 7 * 24 * time.Hour

// SignedURL implements Store: a presigned GET URL valid for ttl (one
// second to seven days). It is computed locally, without a request, and
// says nothing about whether the object exists.
func (s *S3) SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > maxSignedTTL {
		return "", fmt.Errorf("blob: s3 signed URL for %s: ttl %v is not between 1s and 7 days", key, ttl)
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, name, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("blob: s3 signed URL for %s: %w", key, err)
	}
	return u.String(), nil
}

// SignedDownloadURL implements DownloadSigner: a presigned GET URL whose
// answer carries the Content-Disposition header disposition
// (`attachment; filename="x.webm"`), so that the browser saves the blob.
func (s *S3) SignedDownloadURL(ctx context.Context, key string, ttl time.Duration, disposition string) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > maxSignedTTL {
		return "", fmt.Errorf("blob: s3 signed URL for %s: ttl %v is not between 1s and 7 days", key, ttl)
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, name, ttl, url.Values{"response-content-disposition": {disposition}})
	if err != nil {
		return "", fmt.Errorf("blob: s3 signed URL for %s: %w", key, err)
	}
	return u.String(), nil
}

func (s *S3) info(key string, st minio.ObjectInfo) Info {
	return Info{Key: key, Size: st.Size, ModTime: st.LastModified, ContentType: st.ContentType}
}

// err maps a missing object to ErrNotFound.
func (s *S3) err(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey || resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("blob: s3 %s %s: %w", op, key, err)
}

type s3Object struct {
	*minio.Object
	info Info
}

func (o *s3Object) Info() Info { return o.info }
