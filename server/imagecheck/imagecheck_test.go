package imagecheck

import (
	"bytes"
	"testing"
)

// jpeg is a minimal JPEG stream: SOI, a JFIF APP0, an EXIF APP1 with a
// location, a comment, a quantization table, then the scan.
func jpeg() []byte {
	var b bytes.Buffer
	seg := func(marker byte, body string) {
		b.Write([]byte{0xFF, marker, 0, byte(len(body) + 2)})
		b.WriteString(body)
	}
	b.Write([]byte{0xFF, 0xD8})
	seg(0xE0, "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	seg(0xE1, "Exif\x00\x00GPS-39.9042N-116.4074E")
	seg(0xFE, "taken at home")
	seg(0xDB, "\x00quant")
	b.Write([]byte{0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9})
	return b.Bytes()
}

func TestStripJPEGMetadata(t *testing.T) {
	out, ok := StripJPEGMetadata(jpeg())
	if !ok {
		t.Fatal("a well-formed JPEG was refused")
	}
	for _, gone := range []string{"Exif", "GPS-39.9042N", "taken at home"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("%q is still in the picture", gone)
		}
	}
	for _, kept := range []string{"JFIF", "quant", "\xFF\xDA\x00\x02\x01\x02\x03\xFF\xD9"} {
		if !bytes.Contains(out, []byte(kept)) {
			t.Errorf("%q was dropped", kept)
		}
	}
	if again, ok := StripJPEGMetadata(out); !ok || !bytes.Equal(again, out) {
		t.Error("stripping a clean picture changes it")
	}
	for name, bad := range map[string][]byte{
		"empty":            nil,
		"not a JPEG":       []byte("\x89PNG\r\n\x1a\n"),
		"cut in a segment": jpeg()[:30],
		"no scan":          {0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2},
		"junk between":     {0xFF, 0xD8, 0x00, 0xFF, 0xDA, 0, 2},
		"short length":     {0xFF, 0xD8, 0xFF, 0xE1, 0, 1, 0xFF, 0xDA},
	} {
		if _, ok := StripJPEGMetadata(bad); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzStripJPEGMetadata: any input is refused or comes out no longer than
// it went in, starting as a JPEG, without metadata segments before the scan.
func FuzzStripJPEGMetadata(f *testing.F) {
	f.Add(jpeg())
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ok := StripJPEGMetadata(data)
		if !ok {
			return
		}
		if len(out) > len(data) || !bytes.HasPrefix(out, []byte{0xFF, 0xD8}) {
			t.Fatalf("out of %d bytes from %d", len(out), len(data))
		}
		for i := 2; i+4 <= len(out); {
			m := out[i+1]
			if m == 0xDA {
				return
			}
			if (m >= 0xE1 && m <= 0xEF) || m == 0xFE {
				t.Fatalf("metadata segment %#x kept", m)
			}
			i += 2 + (int(out[i+2])<<8 | int(out[i+3]))
		}
	})
}
