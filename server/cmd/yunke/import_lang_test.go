package main

import (
	"path/filepath"
	"strings"
	"testing"

	"yunke/server/importer"
)

// TestImportCommandLanguage: yunke import lists a file's problems, its
// own and the database's, in Chinese when asked to, in English otherwise.
func TestImportCommandLanguage(t *testing.T) {
	t.Parallel()
	db := []string{"--database-path", filepath.Join(t.TempDir(), "y.db")}
	run := func(args ...string) (int, string, string) { return runCmd(t, append(args, db...)...) }
	mustRun(t, append([]string{"import", "--kind", "schools", "--file", writeFile(t, "s.csv", "code,name,kind\nS1,一小,小学\n"),
		"--district", "D1", "--district-name", "区"}, db...)...)
	mustRun(t, append([]string{"import", "--kind", "schools", "--file", writeFile(t, "x.csv", "code,name,kind\nX1,外区一小,小学\n"),
		"--district", "D2", "--district-name", "东区"}, db...)...)

	bad := writeFile(t, "bad.csv", "学校代码,学号,姓名,年级\nS1,1,A,13\nS9,2,B,1\nX1,3,C,1\n\nS1,1,C,1\n")
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"zh", []string{`第 2 行，年级：年级必须是 1–12`, `第 3 行，学校代码：没有学校代码为 "S9" 的学校`, `第 4 行，学校代码：学校 "X1" 属于其他区县`,
			`第 6 行，学号：学号 "1" 与第 2 行重复`, "bad.csv: 文件中有 4 处问题，未导入任何数据"}},
		{"en", []string{`row 2, grade: grade must be 1–12`, `row 3, school_code: no school has the code "S9"`, `row 4, school_code: school "X1" belongs to another district`,
			`row 6, student_no: student_no "1" is already on row 2`, "bad.csv: 4 problems in the file: nothing was imported"}},
	} {
		code, _, stderr := run("import", "--kind", "students", "--file", bad, "--district", "D1", "--initial-password", testPassword, "--lang", c.lang)
		for _, want := range c.want {
			if code != 1 || !strings.Contains(stderr, want) {
				t.Errorf("--lang %s: code %d, stderr lacks %q:\n%s", c.lang, code, want, stderr)
			}
		}
	}
	// The database's own problems: a student of another district.
	mustRun(t, append([]string{"import", "--kind", "students", "--file", writeFile(t, "x1.csv", "school_code,student_no,name,grade\nX1,9,A,1\n"),
		"--district", "D2", "--initial-password", testPassword}, db...)...)
	moved := writeFile(t, "moved.csv", "school_code,student_no,name,grade\nS1,9,A,1\n")
	if code, _, stderr := run("import", "--kind", "students", "--file", moved, "--district", "D1", "--initial-password", testPassword, "--lang", "zh"); code != 1 ||
		!strings.Contains(stderr, `第 2 行，学号：学号 "9" 属于其他区县：导入不会在区县之间迁移用户`) {
		t.Errorf("student of another district, in Chinese: code %d, %q", code, stderr)
	}
	// A file that is no spreadsheet.
	xls := writeFile(t, "old.xls", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00")
	if code, _, stderr := run("import", "--kind", "schools", "--file", xls, "--lang", "zh"); code != 1 || !strings.Contains(stderr, "是旧版 Excel（.xls）文件") {
		t.Errorf("an .xls file, in Chinese: code %d, %q", code, stderr)
	}
	if code, _, stderr := run("import", "--kind", "students", "--file", bad, "--lang", "fr"); code != 2 || !strings.Contains(stderr, "want zh or en") {
		t.Errorf("--lang fr: code %d, %q", code, stderr)
	}
	if _, _, stderr := runCmd(t, "import", "-h"); !strings.Contains(stderr, "--lang") || !strings.Contains(stderr, "LANG=zh_CN.UTF-8") {
		t.Errorf("the help does not tell of --lang: %q", stderr)
	}
}

func TestImportLang(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		flag string
		env  map[string]string
		want importer.Lang
	}{
		{"", nil, importer.English},
		{"", map[string]string{"LANG": "zh_CN.UTF-8"}, importer.Chinese},
		{"", map[string]string{"LANG": "en_US.UTF-8"}, importer.English},
		{"", map[string]string{"LANG": "C"}, importer.English},
		{"", map[string]string{"LANG": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"}, importer.English},
		{"", map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, importer.Chinese},
		{"en", map[string]string{"LANG": "zh_CN.UTF-8"}, importer.English},
		{"zh", map[string]string{"LANG": "C"}, importer.Chinese},
		{"zh-CN", nil, importer.Chinese},
		{"EN", nil, importer.English},
	} {
		got, err := importLang(c.flag, func(k string) string { return c.env[k] })
		if err != nil || got != c.want {
			t.Errorf("--lang %q, %v: %s, %v; want %s", c.flag, c.env, got, err, c.want)
		}
	}
	if _, err := importLang("de", func(string) string { return "" }); err == nil {
		t.Error("--lang de accepted")
	}
}
