package importer

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"

	"yunke/server/textcheck"
	"yunke/storage"
)

// Length limits, in characters.
const (
	maxNameLen = 64 // names of people, schools and knowledge points
	maxCodeLen = 32 // codes, staff and student numbers, class names
)

// code checks a code or number: letters, digits, "-" and "_". Full-width
// characters typed with a Chinese input method are folded to ASCII.
func (p *parser) code(row, col int, v string, required bool) string {
	name := p.col(col)
	v = width.Fold.String(v)
	switch {
	case v == "":
		if required {
			p.fail(row, name, msgRequired, name)
		}
		return ""
	case utf8.RuneCountInString(v) > maxCodeLen:
		p.fail(row, name, msgTooLongText, name, maxCodeLen, utf8.RuneCountInString(v))
		return ""
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			p.fail(row, name, msgCodeChars, name, shown(v))
			return ""
		}
	}
	return v
}

// name checks a name: at most maxNameLen characters, no control characters.
func (p *parser) name(row, col int, v string, required bool) string {
	if v == "" {
		if required {
			p.fail(row, p.col(col), msgRequired, p.col(col))
		}
		return ""
	}
	return p.text(row, col, v, maxNameLen)
}

// text checks free text of at most limit characters. Line breaks and tabs
// (a cell typed with Alt+Enter) become single spaces.
func (p *parser) text(row, col int, v string, limit int) string {
	name := p.col(col)
	if strings.ContainsAny(v, "\t\n\r") {
		v = strings.Join(strings.Fields(v), " ")
	}
	if n := utf8.RuneCountInString(v); n > limit {
		p.fail(row, name, msgTooLongText, name, limit, n)
		return ""
	}
	if !utf8.ValidString(v) || textcheck.Invisible(v) {
		p.fail(row, name, msgControlChars, name)
		return ""
	}
	return v
}

var schoolKinds = map[string]storage.SchoolKind{
	"小学": storage.KindPrimary, "初中": storage.KindJuniorSecondary, "初级中学": storage.KindJuniorSecondary,
	"高中": storage.KindSeniorSecondary, "高级中学": storage.KindSeniorSecondary,
	"完全中学": storage.KindCompleteSecondary, "完中": storage.KindCompleteSecondary,
	"九年一贯制": storage.KindNineYear, "九年一贯制学校": storage.KindNineYear, "九年一贯": storage.KindNineYear,
	"幼儿园": storage.KindKindergarten,
}

func (p *parser) schoolKind(row int, v string) storage.SchoolKind {
	if v == "" {
		p.fail(row, p.col(schKind), msgRequired, p.col(schKind))
		return ""
	}
	k := storage.SchoolKind(strings.ReplaceAll(strings.ToLower(width.Fold.String(v)), "-", "_"))
	if k.Valid() {
		return k
	}
	if k, ok := schoolKinds[v]; ok {
		return k
	}
	p.fail(row, p.col(schKind), msgSchoolKind, p.col(schKind), shown(v))
	return ""
}

// Chinese numerals as grades and list counts go (一 … 十二).
var zhNumbers = map[string]int{
	"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12,
}

// parseGrade reads one grade: 1–12, "7年级", "七年级", "初一"…"初三" (7–9),
// "高一"…"高三" (10–12), "小学三年级", "初中二年级", "grade 7".
func parseGrade(v string) (int, bool) {
	s := strings.ToLower(width.Fold.String(v))
	s = strings.Join(strings.Fields(s), "")
	offset := 0
	switch {
	case strings.HasPrefix(s, "grade"):
		s = s[len("grade"):]
	case strings.HasPrefix(s, "小学"):
		s = strings.TrimPrefix(s, "小学")
	case strings.HasPrefix(s, "初中"):
		s, offset = strings.TrimPrefix(s, "初中"), 6
	case strings.HasPrefix(s, "高中"):
		s, offset = strings.TrimPrefix(s, "高中"), 9
	case strings.HasPrefix(s, "初"), strings.HasPrefix(s, "高"):
		// 初一 = 7, 高三 = 12: only the three years of each stage.
		offset = 6
		if strings.HasPrefix(s, "高") {
			offset = 9
		}
		n, ok := smallNumber(strings.TrimSuffix(s[len("初"):], "年级"))
		if !ok || n < 1 || n > 3 {
			return 0, false
		}
		return offset + n, true
	}
	s = strings.TrimSuffix(s, "年级")
	n, ok := smallNumber(s)
	if !ok {
		return 0, false
	}
	if offset > 0 && (n < 1 || n > 3) {
		return 0, false
	}
	n += offset
	return n, n >= 1 && n <= 12
}

// smallNumber reads digits or a Chinese numeral up to 十二.
func smallNumber(s string) (int, bool) {
	if n, ok := zhNumbers[s]; ok {
		return n, true
	}
	if s == "" || len(s) > 3 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func (p *parser) grade(row, col int, v string, required bool) int {
	name := p.col(col)
	if v == "" {
		if required {
			p.fail(row, name, msgRequired, name)
		}
		return 0
	}
	g, ok := parseGrade(v)
	if !ok {
		p.fail(row, name, msgGrade, name, shown(v))
	}
	return g
}

// splitList splits a list cell on ; 、 , ， ； and /, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(";、,，；/|", r) }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// gradeList reads grades separated like splitList or by spaces; "7-9" and
// "初一~初三" are ranges.
func (p *parser) gradeList(row, col int, v string) []int {
	name := p.col(col)
	var grades []int
	var bad []string
	for _, item := range splitList(v) {
		for _, tok := range strings.Fields(item) {
			lo, hi, isRange := cutRange(tok)
			if !isRange {
				lo, hi = tok, tok
			}
			a, okA := parseGrade(lo)
			b, okB := parseGrade(hi)
			if !okA || !okB || a > b {
				bad = append(bad, tok)
				continue
			}
			for g := a; g <= b; g++ {
				grades = append(grades, g)
			}
		}
	}
	if len(bad) > 0 {
		p.fail(row, name, msgGradeList, name, quoteList(bad))
		return nil
	}
	slices.Sort(grades)
	return slices.Compact(grades)
}

func cutRange(tok string) (lo, hi string, ok bool) {
	for _, sep := range []string{"-", "~", "～", "–", "—", "至", "到"} {
		if lo, hi, ok := strings.Cut(tok, sep); ok && lo != "" && hi != "" {
			return lo, hi, true
		}
	}
	return "", "", false
}

// maxShown is the most characters of a cell an error message repeats.
const maxShown = 100

// shown quotes a cell's value for an error message, cut to maxShown
// characters.
func shown(v string) string { return shownN(v, maxShown) }

func shownN(v string, n int) string {
	if utf8.RuneCountInString(v) > n {
		v = string([]rune(v)[:n]) + "…"
	}
	return strconv.Quote(v)
}

// quoteList quotes items for an error message, repeating at most maxShown
// characters of them in all: a string, or a message saying how many more
// there are.
func quoteList(items []string) any {
	var b strings.Builder
	left := maxShown
	for i, s := range items {
		if left <= 0 {
			return msg(msgListMore, b.String(), len(items)-i)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(shownN(s, left))
		left -= utf8.RuneCountInString(s)
	}
	return b.String()
}

// subjectCode resolves a subject's code, Chinese name or English name.
func (p *parser) subjectCode(v string) (string, bool) {
	code, ok := p.subjects[strings.ToLower(width.Fold.String(v))]
	return code, ok
}

func (p *parser) subject(row, col int, v string) string {
	name := p.col(col)
	if v == "" {
		p.fail(row, name, msgRequired, name)
		return ""
	}
	code, ok := p.subjectCode(v)
	if !ok {
		p.fail(row, name, msgUnknownSubject, shown(v))
	}
	return code
}

// subjectList reads subjects separated like splitList or by spaces (an
// English name such as "Physical Education" may itself hold a space).
func (p *parser) subjectList(row, col int, v string) []string {
	var codes, unknown []string
	for _, item := range splitList(v) {
		if code, ok := p.subjectCode(item); ok {
			codes = append(codes, code)
			continue
		}
		for _, tok := range strings.Fields(item) {
			if code, ok := p.subjectCode(tok); ok {
				codes = append(codes, code)
			} else {
				unknown = append(unknown, tok)
			}
		}
	}
	if len(unknown) > 0 {
		k := msgUnknownSubject
		if len(unknown) > 1 {
			k = msgUnknownSubjects
		}
		p.fail(row, p.col(col), k, quoteList(unknown))
		return nil
	}
	// Keep the file's order, without repeats.
	out := codes[:0]
	for _, c := range codes {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

var trainees = map[string]bool{
	"": false, "是": true, "否": false, "yes": true, "no": false, "y": true, "n": false,
	"true": true, "false": false, "1": true, "0": false, "√": true, "✓": true, "×": false,
}

func (p *parser) trainee(row int, v string) bool {
	t, ok := trainees[strings.ToLower(width.Fold.String(v))]
	if !ok {
		p.fail(row, p.col(tchTrainee), msgTrainee, p.col(tchTrainee), shown(v))
	}
	return t
}

func (p *parser) sort(row int, v string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(width.Fold.String(v))
	if err != nil || n < -1_000_000 || n > 1_000_000 {
		p.fail(row, p.col(kpSort), msgSort, p.col(kpSort), shown(v))
		return 0
	}
	return n
}
