// Package textcheck holds the rules every one-line text Yunke accepts
// follows, whether it comes from a form, the API or a spreadsheet row.
package textcheck

import "unicode"

// Invisible reports whether s holds a character that has no place in a
// name or a one-line text: control characters, format characters
// (unicode.Cf: zero-width spaces and joiners, bidirectional overrides and
// isolates, the byte-order mark, which can make a name display as another)
// and line or paragraph separators. A zero-width joiner inside an emoji
// sequence (👩‍🏫: a symbol, perhaps a skin tone or emoji presentation
// selector, the joiner, a symbol) is text, not a trick.
func Invisible(s string) bool {
	rs := []rune(s)
	for i, c := range rs {
		if c == '\u200d' && i > 0 && i+1 < len(rs) &&
			(unicode.In(rs[i-1], unicode.So, unicode.Sk) || rs[i-1] == '\ufe0f') && unicode.Is(unicode.So, rs[i+1]) {
			continue
		}
		if unicode.IsControl(c) || unicode.In(c, unicode.Cf, unicode.Zl, unicode.Zp) {
			return true
		}
	}
	return false
}
