// Package imagecheck cleans pictures users upload (a question's photo of an
// exercise, a tutoring request's picture) before they are stored: a phone's
// JPEG carries EXIF metadata, often with the place it was taken.
package imagecheck

// StripJPEGMetadata drops the APP1–APP15 and comment segments of a JPEG
// (EXIF with GPS location, XMP, maker notes), keeping what decoding needs.
// ok is false when the data does not parse as JPEG segments up to the
// image data: such a picture is refused rather than stored with its metadata.
func StripJPEGMetadata(data []byte) (out []byte, ok bool) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, false
	}
	out = make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return nil, false
		}
		marker := data[i+1]
		if marker == 0xDA { // start of scan: the rest is image data
			return append(out, data[i:]...), true
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 || i+2+n > len(data) {
			return nil, false
		}
		drop := (marker >= 0xE1 && marker <= 0xEF) || marker == 0xFE
		if !drop {
			out = append(out, data[i:i+2+n]...)
		}
		i += 2 + n
	}
	return nil, false
}
