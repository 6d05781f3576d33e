package auth

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

//go:embed common-passwords.txt
var commonPasswordFile string

// commonPasswords is the embedded list, sorted for binary search; built on
// first use.
var commonPasswords = sync.OnceValue(func() []string {
	var out []string
	for line := range strings.Lines(commonPasswordFile) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.ToLower(line))
	}
	slices.Sort(out)
	return slices.Compact(out)
})

// IsCommonPassword reports whether pw, in any case, is one of the most
// common passwords of 8 or more characters.
func IsCommonPassword(pw string) bool {
	_, found := slices.BinarySearch(commonPasswords(), strings.ToLower(pw))
	return found
}
