package importer

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"yunke/storage"
)

// verbRE matches a fmt verb: flags, an argument index, width, precision
// and the verb letter ("%%" is no verb).
var verbRE = regexp.MustCompile(`%([-+# 0]*)(?:\[(\d+)\])?(\d*)(?:\.(\d*))?([a-zA-Z%])`)

// verbs maps each argument a format takes (numbered from 1) to the verb
// that shows it; a format that shows one argument two different ways, or
// leaves one out, is an error.
func verbs(format string) (map[int]string, error) {
	out := map[int]string{}
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(format, -1) {
		if m[5] == "%" {
			continue
		}
		if m[2] != "" {
			next, _ = strconv.Atoi(m[2])
		}
		v := m[1] + m[3] + "." + m[4] + m[5]
		if old, ok := out[next]; ok && old != v {
			return nil, fmt.Errorf("argument %d is shown as %s and as %s", next, old, v)
		}
		out[next] = v
		next++
	}
	for i := 1; i <= len(out); i++ {
		if _, ok := out[i]; !ok {
			return nil, fmt.Errorf("argument %d is not shown", i)
		}
	}
	return out, nil
}

// sameVerbs fails t unless en and zh take the same arguments, each shown
// by the same verb.
func sameVerbs(t *testing.T, name, en, zh string) {
	t.Helper()
	ve, err := verbs(en)
	if err != nil {
		t.Errorf("%s: English %q: %v", name, en, err)
		return
	}
	vz, err := verbs(zh)
	if err != nil {
		t.Errorf("%s: Chinese %q: %v", name, zh, err)
		return
	}
	if !maps.Equal(ve, vz) {
		t.Errorf("%s: the formats take different arguments: %q %v, %q %v", name, en, ve, zh, vz)
	}
}

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// TestCatalog: every message of the importer is in English and in
// Chinese, and both formats take the same arguments the same way.
func TestCatalog(t *testing.T) {
	t.Parallel()
	for k := msgNone + 1; k < numKeys; k++ {
		f := catalog[k]
		name := fmt.Sprintf("message %d", k)
		switch {
		case f.en == "" || f.zh == "":
			t.Errorf("%s lacks a format: %q", name, f)
		case !hasHan(f.zh):
			t.Errorf("%s: the Chinese format %q is not Chinese", name, f.zh)
		default:
			sameVerbs(t, name, f.en, f.zh)
		}
	}
	if f := catalog[msgNone]; f != (formats{}) {
		t.Errorf("msgNone has formats %q", f)
	}
}

// TestStoreCatalog: every message of the store's import has its Chinese,
// taking the same arguments as the store's English, and the importer
// translates no code the store has not.
func TestStoreCatalog(t *testing.T) {
	t.Parallel()
	en := storage.ImportFormats()
	if len(en) == 0 {
		t.Fatal("the store has no import messages")
	}
	for _, code := range slices.Sorted(maps.Keys(en)) {
		zh, ok := storeZh[code]
		switch {
		case !ok:
			t.Errorf("store message %s (%q) has no Chinese", code, en[code])
		case !hasHan(zh):
			t.Errorf("store message %s: %q is not Chinese", code, zh)
		default:
			sameVerbs(t, code, en[code], zh)
		}
	}
	for code := range storeZh {
		if _, ok := en[code]; !ok {
			t.Errorf("Chinese for store message %s, which the store does not have", code)
		}
	}
}

// TestVerbs: the check of the tests above tells formats apart.
func TestVerbs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"%s is %d", "%s 是 %d", true},
		{"%s is %d", "%d 是 %s", false},
		{"%s is %d", "%[2]d 是 %[1]s", true},
		{"%q x", "%s x", false},
		{"%s and %s", "%s", false},
		{"100%% of %d", "%d 的 100%%", true},
		{"%5.2f", "%.2f", false},
	} {
		ve, _ := verbs(c.a)
		vz, _ := verbs(c.b)
		if maps.Equal(ve, vz) != c.same {
			t.Errorf("%q and %q: same %v, want %v", c.a, c.b, !c.same, c.same)
		}
	}
	if _, err := verbs("%[2]s"); err == nil {
		t.Error("a format leaving argument 1 out passes")
	}
}

// TestUnknownMessage: a message the catalog lacks reads in English, or as
// its arguments; it never panics.
func TestUnknownMessage(t *testing.T) {
	t.Parallel()
	for _, l := range []Lang{Chinese, English, "fr"} {
		m := message{code: "no_such_code", en: "no such code, in English", args: []any{1}}
		if got := m.in(l); got != "no such code, in English" {
			t.Errorf("%s: unknown store code reads %q, want its English", l, got)
		}
		for _, k := range []key{-1, msgNone, numKeys, numKeys + 10} {
			if got := (message{key: k, args: []any{"a", 2}}).in(l); got != "a 2" {
				t.Errorf("%s: unknown key %d reads %q", l, k, got)
			}
		}
		e := StoreError(4, storage.ImportRowError{Kind: "students", Field: "grade", Code: "new_code", Args: []any{"x"}, Message: "something new"})
		if got := e.In(l); got.Message != "something new" || got.Row != 4 || got.Column != "grade" {
			t.Errorf("%s: an unknown store code: %+v", l, got)
		}
	}
	// In English, or in a language there are no messages in, a message
	// reads in English.
	if got := msg(msgRequired, colName{"grade", "年级"}).in("fr"); got != "grade is required" {
		t.Errorf("French: %q", got)
	}
	// A row error made outside the importer keeps its text.
	if e := (RowError{Row: 2, Column: "x", Message: "as is"}).In(Chinese); e.Message != "as is" {
		t.Errorf("a plain row error becomes %q", e.Message)
	}
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]Lang{
		"":                          Chinese,
		"zh-CN":                     Chinese,
		"zh":                        Chinese,
		"zh-Hans-CN":                Chinese,
		"zh-TW":                     Chinese,
		"en":                        English,
		"en-US,en;q=0.9":            English,
		"en-GB,zh;q=0.1":            English,
		"zh-CN,zh;q=0.9,en;q=0.8":   Chinese,
		"ja,zh-CN;q=0.8,en;q=0.5":   Chinese,
		"de, en;q=0.5":              English,
		"fr":                        Chinese, // nothing matches
		"*":                         Chinese,
		"zh;q=0, en":                English,
		"en;q=0":                    Chinese,
		"not a language tag!":       Chinese,
		strings.Repeat("en-US,", 9): English,
	} {
		if got := Negotiate(header); got != want {
			t.Errorf("Negotiate(%q) = %s, want %s", header, got, want)
		}
	}
}

// TestMessagesInChinese: the same bad file gives the same rows and
// columns in both languages; in Chinese, the messages are Chinese and name
// columns by the templates' Chinese headers, and in English they are the
// row errors' Message.
func TestMessagesInChinese(t *testing.T) {
	t.Parallel()
	_, errs := parseString(t, KindTeachers, "school_code,staff_no,name,subjects,grades,trainee\n"+
		"S1,,王,数学,3,否\n"+ // 2: no staff number
		"S1,T 1,王,数学,3,否\n"+ // 3: a space in a code
		"S1,T2,王,物理,十三,也许\n"+ // 4: unknown subject, bad grade, bad trainee
		"S1,T3,李,数学,3,否\n"+
		"S1,T3,李,数学,3,否\n") // 6: T3 again
	type cell struct {
		row    int
		column string
		zh     string // a Chinese header the Chinese message names, if any
	}
	want := []cell{{2, "staff_no", "工号"}, {3, "staff_no", "工号"}, {4, "subjects", ""}, {4, "grades", "年级"}, {4, "trainee", "见习教师"}, {6, "staff_no", "工号"}}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %v", errs, want)
	}
	for i, e := range errs {
		zh, en := e.In(Chinese), e.In(English)
		if zh.Row != want[i].row || zh.Column != want[i].column || en.Row != zh.Row || en.Column != zh.Column {
			t.Errorf("error %d: %v / %v, want row %d, %s", i, zh, en, want[i].row, want[i].column)
		}
		if en.Message != e.Message {
			t.Errorf("error %d: English %q, Message %q", i, en.Message, e.Message)
		}
		if !hasHan(strings.NewReplacer("王", "", "李", "", "数学", "", "物理", "", "十三", "", "也许", "", "是", "", "否", "").Replace(zh.Message)) {
			t.Errorf("error %d: %q is not Chinese", i, zh.Message)
		}
		if !strings.Contains(zh.Message, want[i].zh) || strings.Contains(zh.Message, want[i].column) {
			t.Errorf("error %d: %q does not name the column %s as %s", i, zh.Message, want[i].column, want[i].zh)
		}
	}
	if got := errs[0].In(Chinese).Message; got != "工号不能为空" {
		t.Errorf("Chinese message %q", got)
	}
	if got := errs[5].Line(Chinese); got != `第 6 行，工号：工号 "T3" 与第 5 行重复` {
		t.Errorf("Chinese line %q", got)
	}
	if got := errs[5].Line(English); got != errs[5].String() {
		t.Errorf("English line %q, String %q", got, errs[5].String())
	}

	// Missing columns name both the English and the Chinese header.
	_, errs = parseString(t, KindStudents, "school_code,name\nS1,张\n")
	for _, e := range errs {
		if !strings.Contains(e.In(Chinese).Message, "缺少“学号(student_no)”列") && !strings.Contains(e.In(Chinese).Message, "缺少“年级(grade)”列") {
			t.Errorf("missing column, in Chinese: %q", e.In(Chinese).Message)
		}
		if !strings.HasPrefix(e.Message, "missing column ") {
			t.Errorf("missing column, in English: %q", e.Message)
		}
	}

	// The line saying how many more errors there were.
	var b strings.Builder
	b.WriteString("code,name,kind\n")
	for range MaxErrors + 1 {
		b.WriteString("x y,,\n")
	}
	_, errs = parseString(t, KindSchools, b.String())
	if last := errs[len(errs)-1].In(Chinese).Message; !strings.HasPrefix(last, fmt.Sprintf("另有 %d 个错误未列出", 2*MaxErrors+3)) {
		t.Errorf("the last error in Chinese: %q", last)
	}
}

// TestFileMessagesInChinese: a file that cannot be read at all, or is too
// large, says so in either language.
func TestFileMessagesInChinese(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		data []byte
		zh   string
	}{
		{"old.xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), "old.xls 是旧版 Excel（.xls）文件"},
		{"binary.csv", []byte("code\x00name"), "binary.csv 既不是 .xlsx 文件"},
		{"big.csv", bytes.Repeat([]byte("a"), MaxFileSize+1), "文件超过 10 MiB"},
		{"", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "文件 是旧版 Excel"},
	} {
		_, err := Parse(bytes.NewReader(c.data), c.name, KindSchools, nil)
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		if got := Message(err, Chinese); !strings.Contains(got, c.zh) {
			t.Errorf("%s in Chinese: %q, want …%s…", c.name, got, c.zh)
		}
		if got := Message(err, English); got != err.Error() {
			t.Errorf("%s in English: %q, Error %q", c.name, got, err)
		}
	}
	data := bigCellXLSX(t, "", 'x', 20<<20, "")
	_, err := Parse(bytes.NewReader(data), "big.xlsx", KindStudents, testSubjects)
	if !errors.Is(err, ErrExpands) || !strings.Contains(Message(err, Chinese), "big.xlsx：.xlsx 文件解压后过大：有单元格或标签超过 64 KiB") {
		t.Errorf("an expanding workbook: %v, in Chinese %q", err, Message(err, Chinese))
	}
	// A broken workbook is a row error, in either language.
	_, errs := parseBytes(t, KindSchools, []byte("PK\x03\x04garbage"))
	if len(errs) != 1 || !strings.Contains(errs[0].In(Chinese).Message, "不是可以读取的 .xlsx 文件") || !strings.Contains(errs[0].Message, "not a readable .xlsx file") {
		t.Errorf("a broken workbook: %v / %v", errs, errs[0].In(Chinese))
	}
	if got := Message(errors.New("other"), Chinese); got != "other" {
		t.Errorf("another error in Chinese: %q", got)
	}
	if Summary(1, English) != "1 problem in the file: nothing was imported" || Summary(3, Chinese) != "文件中有 3 处问题，未导入任何数据" {
		t.Errorf("summaries %q, %q", Summary(1, English), Summary(3, Chinese))
	}
}

// TestStoreErrorInChinese: the store's row errors read in Chinese, naming
// the file's columns by their Chinese headers.
func TestStoreErrorInChinese(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		e      storage.ImportRowError
		en, zh string
	}{
		{storage.NewImportRowError("students", 0, "student_no", storage.ImportUserOutOfScope, storage.ImportTerm("student_no"), "S-1"),
			`student_no "S-1" belongs to another school or to an account you may not change; ask its administrator or a district admin to move it`,
			`学号 "S-1" 属于其他学校或你无权修改的账号；请联系其管理员或区县管理员迁移`},
		{storage.NewImportRowError("teachers", 0, "staff_no", storage.ImportUserElsewhere, storage.ImportTerm("staff_no"), "T-1"),
			`staff_no "T-1" belongs to another district: an import never moves users between districts`,
			`工号 "T-1" 属于其他区县：导入不会在区县之间迁移用户`},
		{storage.NewImportRowError("schools", 2, "code", storage.ImportDuplicate, "S1", storage.ImportTerm("schools"), 1),
			`"S1" is already on schools row 1`, `"S1" 与学校表第 1 行重复`},
		{storage.NewImportRowError("students", 0, "school_code", storage.ImportNoSchool, "S9"),
			`no school has the code "S9"`, `没有学校代码为 "S9" 的学校`},
	} {
		e := StoreError(7, c.e)
		if e.Row != 7 || e.Column != c.e.Field || e.Message != c.en || e.In(English).Message != c.en {
			t.Errorf("%s: %+v, want %q", c.e.Code, e, c.en)
		}
		if got := e.In(Chinese); got.Message != c.zh || got.Column != c.e.Field {
			t.Errorf("%s in Chinese: %q, want %q", c.e.Code, got.Message, c.zh)
		}
	}
}

// TestCallsFillTheirMessages: every call naming a message of the catalog
// (msg, fileErr, fail) gives as many arguments as its format takes, as vet
// checks of a call to fmt.Sprintf.
func TestCallsFillTheirMessages(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// The keys, by name, in the order of their declaration.
	keys := map[string]key{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST && len(g.Specs) > 0 {
				if first := g.Specs[0].(*ast.ValueSpec); first.Names[0].Name == "msgNone" {
					for i, s := range g.Specs {
						keys[s.(*ast.ValueSpec).Names[0].Name] = key(i)
					}
				}
			}
		}
	}
	if len(keys) != int(numKeys)+1 {
		t.Fatalf("found %d keys, want %d", len(keys), numKeys+1)
	}
	// Where each function takes its key.
	keyArg := map[string]int{"msg": 0, "fileErr": 1, "fail": 2}
	calls := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			at, ok := keyArg[name]
			if !ok || len(call.Args) <= at || call.Ellipsis.IsValid() {
				return true
			}
			id, ok := call.Args[at].(*ast.Ident)
			if !ok {
				return true // a key chosen at run time
			}
			k, ok := keys[id.Name]
			if !ok {
				return true
			}
			calls++
			v, err := verbs(catalog[k].en)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(call.Args) - at - 1; got != len(v) {
				t.Errorf("%s: %s(%s, …) gives %d arguments; its format %q takes %d", fset.Position(call.Pos()), name, id.Name, got, catalog[k].en, len(v))
			}
			return true
		})
	}
	if calls < 30 {
		t.Errorf("found only %d calls", calls)
	}
}
