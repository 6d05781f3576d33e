package importer

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"yunke/storage"
)

var testSubjects = []storage.Subject{
	{ID: 1, Code: "math", Name: "数学", NameEn: "Mathematics", Active: true},
	{ID: 2, Code: "chinese", Name: "语文", NameEn: "Chinese", Active: true},
	{ID: 3, Code: "pe", Name: "体育", NameEn: "Physical Education", Active: true},
}

func parseString(t *testing.T, kind Kind, text string) (*Parsed, []RowError) {
	t.Helper()
	return parseBytes(t, kind, []byte(text))
}

func parseBytes(t *testing.T, kind Kind, data []byte) (*Parsed, []RowError) {
	t.Helper()
	p, err := Parse(bytes.NewReader(data), "test", kind, testSubjects)
	if err == nil {
		if p == nil {
			t.Fatal("nil Parsed without error")
		}
		return p, nil
	}
	var re *RowsError
	if !errors.As(err, &re) || !errors.Is(err, ErrRows) {
		t.Fatalf("Parse: %v (%T), want a *RowsError", err, err)
	}
	if p == nil || p.Kind != kind || len(p.RowNumbers) != len(p.Schools)+len(p.Teachers)+len(p.Students)+len(p.KnowledgePoints) {
		t.Errorf("with a *RowsError, Parsed %+v; want the valid rows", p)
	}
	return p, re.Errors
}

// wantErr is an expected RowError; msg is a substring of its Message.
type wantErr struct {
	row int
	col string
	msg string
}

func checkErrors(t *testing.T, got []RowError, want []wantErr) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors %v, want %d %v", len(got), got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Row != w.row || g.Column != w.col || !strings.Contains(g.Message, w.msg) {
			t.Errorf("error %d = %v, want row %d, %s: …%s…", i, g, w.row, w.col, w.msg)
		}
	}
}

func sch(code, name string, kind storage.SchoolKind) storage.SchoolRow {
	return storage.SchoolRow{Code: code, Name: name, Kind: kind}
}

func TestSchools(t *testing.T) {
	t.Parallel()
	p, errs := parseString(t, KindSchools, "code,name,kind\nS001,第一实验小学,小学\n\nS-2_b, 城南中学 ,junior_secondary\nS3,九一,九年一贯制\nS4,幼,幼儿园\nS5,高,高中\nS6,完,完全中学\nS7,初,初中\nS8,P,Primary\n")
	if errs != nil {
		t.Fatal(errs)
	}
	want := []storage.SchoolRow{
		sch("S001", "第一实验小学", storage.KindPrimary),
		sch("S-2_b", "城南中学", storage.KindJuniorSecondary),
		sch("S3", "九一", storage.KindNineYear),
		sch("S4", "幼", storage.KindKindergarten),
		sch("S5", "高", storage.KindSeniorSecondary),
		sch("S6", "完", storage.KindCompleteSecondary),
		sch("S7", "初", storage.KindJuniorSecondary),
		sch("S8", "P", storage.KindPrimary),
	}
	if !reflect.DeepEqual(p.RowNumbers, []int{2, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("row numbers %v", p.RowNumbers)
	}
	if !reflect.DeepEqual(p.Schools, want) || p.Rows != len(want) || p.Kind != KindSchools {
		t.Errorf("got %+v (rows %d), want %+v", p.Schools, p.Rows, want)
	}

	long := strings.Repeat("长", 65)
	_, errs = parseString(t, KindSchools, "学校代码,学校名称,学段\n"+
		",无代码,小学\n"+ // 2
		"S 1,空格,小学\n"+ // 3
		strings.Repeat("x", 33)+",长代码,小学\n"+ // 4
		"S4,"+long+",小学\n"+ // 5
		"S5,,小学\n"+ // 6
		"S6,大学,university\n"+ // 7
		"S7,无学段,\n"+ // 8
		"S8,好,小学\n"+ // 9
		"S8,重复,小学\n") // 10
	checkErrors(t, errs, []wantErr{
		{2, "code", "code is required"},
		{3, "code", `only letters, digits, "-" and "_", got "S 1"`},
		{4, "code", "at most 32 characters, got 33"},
		{5, "name", "at most 64 characters, got 65"},
		{6, "name", "name is required"},
		{7, "kind", `got "university"`},
		{8, "kind", "kind is required"},
		{10, "code", `code "S8" is already on row 9`},
	})
}

func TestTeachers(t *testing.T) {
	t.Parallel()
	p, errs := parseString(t, KindTeachers, "学校代码,工号,姓名,学科,年级,见习教师,备注\n"+
		"S001,T1,王芳,数学;语文,1、2,是,extra column\n"+
		"S001,T2,李明,math，Chinese,初一 初三,否\n"+
		"S001,T3,赵,Physical Education / 数学 数学,7-9,yes\n"+
		"S001,T4,钱,,,\n"+
		"S001,T5,孙,pe,高一~高三 一年级,1\n"+
		"S001,T6,周,MATH,十二年级,false\n")
	if errs != nil {
		t.Fatal(errs)
	}
	want := []storage.TeacherRow{
		{SchoolCode: "S001", StaffNo: "T1", Name: "王芳", SubjectCodes: []string{"math", "chinese"}, Grades: []int{1, 2}, Trainee: true},
		{SchoolCode: "S001", StaffNo: "T2", Name: "李明", SubjectCodes: []string{"math", "chinese"}, Grades: []int{7, 9}},
		{SchoolCode: "S001", StaffNo: "T3", Name: "赵", SubjectCodes: []string{"pe", "math"}, Grades: []int{7, 8, 9}, Trainee: true},
		{SchoolCode: "S001", StaffNo: "T4", Name: "钱"},
		{SchoolCode: "S001", StaffNo: "T5", Name: "孙", SubjectCodes: []string{"pe"}, Grades: []int{1, 10, 11, 12}, Trainee: true},
		{SchoolCode: "S001", StaffNo: "T6", Name: "周", SubjectCodes: []string{"math"}, Grades: []int{12}},
	}
	if !reflect.DeepEqual(p.Teachers, want) {
		t.Errorf("got  %+v\nwant %+v", p.Teachers, want)
	}

	// A header without the optional columns is fine.
	if _, errs := parseString(t, KindTeachers, "school_code,staff_no,name\nS1,T1,A\n"); errs != nil {
		t.Error(errs)
	}

	_, errs = parseString(t, KindTeachers, "school_code,staff_no,name,subjects,grades,trainee\n"+
		"S1,T1,A,化学,1,\n"+ // 2
		"S1,T2,B,math 物理 地理,1,\n"+ // 3
		"S1,T3,C,math,13,\n"+ // 4
		"S1,T4,D,math,0;初四;9-7,\n"+ // 5
		"S1,T5,E,math,1,maybe\n"+ // 6
		"S1,t1,F,math,1,\n"+ // 7: usernames are case-insensitive
		",,,,,是\n") // 8
	checkErrors(t, errs, []wantErr{
		{2, "subjects", `unknown subject "化学"`},
		{3, "subjects", `unknown subjects "物理", "地理"`},
		{4, "grades", `grades must be 1–12 (or 一年级…, 初一…, 高一…, or a range such as 7-9), got "13"`},
		{5, "grades", `got "0", "初四", "9-7"`},
		{6, "trainee", `got "maybe"`},
		{7, "staff_no", `staff_no "t1" is already on row 2`},
		{8, "school_code", "school_code is required"},
		{8, "staff_no", "staff_no is required"},
		{8, "name", "name is required"},
	})
}

func TestStudents(t *testing.T) {
	t.Parallel()
	p, errs := parseString(t, KindStudents, "School Code,Student No,NAME,Grade,Class\n"+
		"S001,20240001,张小明,3,2班\n"+
		"S001,２０２４０００２,陈静,三年级,\n"+ // full-width digits
		"S001,20240003,王,初二,1\n"+
		"S001,20240004,李,高三,1\n"+
		"S001,20240005,赵,7年级,1\n"+
		"S001,20240006,钱,Grade 11,1\n"+
		"S001,20240007,孙,初中一年级,1\n")
	if errs != nil {
		t.Fatal(errs)
	}
	grades := []int{3, 3, 8, 12, 7, 11, 7}
	if len(p.Students) != len(grades) {
		t.Fatalf("got %d students", len(p.Students))
	}
	for i, g := range grades {
		if p.Students[i].Grade != g {
			t.Errorf("student %d grade %d, want %d", i, p.Students[i].Grade, g)
		}
	}
	if s := p.Students[1]; s.StudentNo != "20240002" || s.Class != "" || s.Name != "陈静" {
		t.Errorf("student 1 = %+v", s)
	}
	if s := p.Students[0]; s != (storage.StudentRow{SchoolCode: "S001", StudentNo: "20240001", Name: "张小明", Grade: 3, Class: "2班"}) {
		t.Errorf("student 0 = %+v", s)
	}

	_, errs = parseString(t, KindStudents, "school_code,student_no,name,grade,class\n"+
		"S1,1,A,13,\n"+ // 2
		"S1,2,B,,\n"+ // 3
		"S1,3,C,-1,\n"+ // 4
		"S1,4,D,1,"+strings.Repeat("班", 33)+"\n"+ // 5
		"S1,5,E\x01,1,\n"+ // 6
		"S1,1,F,1,\n"+ // 7
		"S1,8,王\u202e老师,1,\n") // 8: a bidirectional override

	checkErrors(t, errs, []wantErr{
		{2, "grade", `grade must be 1–12 (or 一年级…, 初一…, 高一…), got "13"`},
		{3, "grade", "grade is required"},
		{4, "grade", `got "-1"`},
		{5, "class", "at most 32 characters"},
		{6, "name", "control character"},
		{7, "student_no", `student_no "1" is already on row 2`},
		{8, "name", "invisible"},
	})
}

func TestKnowledgePoints(t *testing.T) {
	t.Parallel()
	p, errs := parseString(t, KindKnowledgePoints, "学科,年级,编码,上级编码,名称,排序\n"+
		"数学,7,M7-01-01,M7-01,正数和负数,1\n"+ // a child before its parent is fine
		"数学,7,M7-01,,有理数,1\n"+
		"语文,7,M7-01,,同编码不同学科,\n")
	if errs != nil {
		t.Fatal(errs)
	}
	want := []storage.KnowledgePointRow{
		{SubjectCode: "math", Grade: 7, Code: "M7-01-01", ParentCode: "M7-01", Name: "正数和负数", Sort: 1},
		{SubjectCode: "math", Grade: 7, Code: "M7-01", Name: "有理数", Sort: 1},
		{SubjectCode: "chinese", Grade: 7, Code: "M7-01", Name: "同编码不同学科"},
	}
	if !reflect.DeepEqual(p.KnowledgePoints, want) {
		t.Errorf("got  %+v\nwant %+v", p.KnowledgePoints, want)
	}

	_, errs = parseString(t, KindKnowledgePoints, "subject,grade,code,parent_code,name,sort\n"+
		"化学,7,C1,,x,1\n"+ // 2
		"math,7,A,B,a,1\n"+ // 3
		"math,7,B,C,b,1\n"+ // 4
		"math,7,C,A,c,1\n"+ // 5: A → B → C → A
		"math,7,D,D,d,1\n"+ // 6
		"math,7,E,,e,first\n"+ // 7
		"math,7,A,,dup,1\n"+ // 8
		"math,,F,,f,1\n") // 9
	checkErrors(t, errs, []wantErr{
		{2, "subject", `unknown subject "化学"`},
		{5, "parent_code", "loop: A → B → C → A"},
		{6, "parent_code", "own code"},
		{7, "sort", `got "first"`},
		{8, "code", `code "A" is already on row 3`},
		{9, "grade", "grade is required"},
	})
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	for _, header := range []string{
		"school_code,student_no,name,grade,class",
		"学校代码,学号,姓名,年级,班级",
		"学校代码(school_code),学号(student_no),姓名(name),年级(grade),班级(class)",
		"学校代码（school_code）,学号 (Student-No),姓名*,年级：,班级",
		"ＳＣＨＯＯＬ＿ＣＯＤＥ,\u200bSTUDENT NO,Name,GRADE,class",
		"班级,年级,姓名,学号,学校代码,备注", // any order, extra columns ignored
	} {
		p, errs := parseString(t, KindStudents, header+"\n"+reorder(header, "S1,N1,A,1,1班")+"\n")
		if errs != nil {
			t.Errorf("header %q: %v", header, errs)
			continue
		}
		if got := p.Students[0]; got != (storage.StudentRow{SchoolCode: "S1", StudentNo: "N1", Name: "A", Grade: 1, Class: "1班"}) {
			t.Errorf("header %q: %+v", header, got)
		}
	}

	_, errs := parseString(t, KindStudents, "学号,name,grade\n1,A,1\n")
	checkErrors(t, errs, []wantErr{{1, "school_code", "missing column school_code (学校代码)"}})

	_, errs = parseString(t, KindStudents, "学号,student_no,school_code,name,grade\n")
	checkErrors(t, errs, []wantErr{{1, "student_no", "appears twice (columns A and B)"}})

	// A title above the header is skipped.
	p, errs := parseString(t, KindSchools, "2025 年学校名单,,\n\ncode,name,kind\nS1,A,小学\n")
	if errs != nil || len(p.Schools) != 1 {
		t.Errorf("title row: %v %v", p, errs)
	}

	_, errs = parseString(t, KindSchools, "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n")
	checkErrors(t, errs, []wantErr{{5, "", "no header row"}})
	_, errs = parseString(t, KindSchools, "a,b\n")
	checkErrors(t, errs, []wantErr{{1, "", "no header row"}})
	_, errs = parseString(t, KindSchools, " \n\n")
	checkErrors(t, errs, []wantErr{{1, "", "the file is empty"}})
}

// reorder lays out the student values S1,N1,A,1,1班 in the order of header.
func reorder(header, values string) string {
	if strings.HasPrefix(header, "班级") {
		return "1班,1,A,N1,S1,note"
	}
	return values
}

func TestEncodingsAndSeparators(t *testing.T) {
	t.Parallel()
	const text = "学校代码,学校名称,学段\r\nS1,第一实验小学,小学\r\nS2,\"城南, 中学\",高中\r\n"
	want := []storage.SchoolRow{sch("S1", "第一实验小学", storage.KindPrimary), sch("S2", "城南, 中学", storage.KindSeniorSecondary)}

	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	gb18030, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	tabbed := strings.ReplaceAll(strings.ReplaceAll(text, ",", "\t"), "城南\t 中学", "城南, 中学")
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(tabbed)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"utf8":      text,
		"bom":       "\ufeff" + text,
		"gbk":       gbk,
		"gb18030":   gb18030,
		"utf16":     utf16,
		"semicolon": strings.ReplaceAll(strings.ReplaceAll(text, ",", ";"), "城南; 中学", "城南, 中学"),
		"tab":       tabbed,
		"sep hint":  "sep=|\r\n" + strings.ReplaceAll(strings.ReplaceAll(text, ",", "|"), "城南| 中学", "城南, 中学"),
		"lf":        strings.ReplaceAll(text, "\r\n", "\n"),
	} {
		if name == "gbk" && utf8Valid(data) {
			t.Fatal("the GBK text should not be valid UTF-8")
		}
		p, errs := parseString(t, KindSchools, data)
		if errs != nil {
			t.Errorf("%s: %v", name, errs)
			continue
		}
		if !reflect.DeepEqual(p.Schools, want) {
			t.Errorf("%s: got %+v", name, p.Schools)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// Row numbers are those a spreadsheet shows: blank lines count, a quoted
// field spanning lines is one row.
func TestRowNumbers(t *testing.T) {
	t.Parallel()
	_, errs := parseString(t, KindSchools, "code,name,kind\n\nS1,\"two\nlines\",小学\n\n\n,x,小学\n,,\nS3,y,nope")
	checkErrors(t, errs, []wantErr{{6, "code", "required"}, {8, "kind", "nope"}})
	p, _ := parseString(t, KindSchools, "code,name,kind\nS1,\"two\nlines\",小学\n")
	if p.Schools[0].Name != "two lines" {
		t.Errorf("name %q", p.Schools[0].Name)
	}

	xlsx := makeXLSX(t, [][]string{{"code", "name", "kind"}, {"S1", "a", "小学"}, {}, {}, {"S1", "b", "小学"}})
	_, errs = parseBytes(t, KindSchools, xlsx)
	checkErrors(t, errs, []wantErr{{5, "code", "already on row 2"}})

	// Like Excel, an unterminated quote runs to the end of the file.
	_, errs = parseString(t, KindSchools, "code,name,kind\nS1,\"unterminated,小学\n")
	checkErrors(t, errs, []wantErr{{2, "kind", "kind is required"}})
}

func makeXLSX(t testing.TB, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, row := range rows {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCSVAndXLSXAgree(t *testing.T) {
	t.Parallel()
	files := map[Kind][][]string{
		KindSchools:  {{"学校代码", "学校名称", "学段"}, {"S1", "一小", "小学"}, {"S2", "二中", "初中"}, {"S3", "", "x"}},
		KindTeachers: {{"school_code", "staff_no", "name", "subjects", "grades", "trainee"}, {"S1", "T1", "王", "数学、语文", "1;2", "是"}, {"S1", "T1", "李", "化学", "13", "?"}},
		KindStudents: {{"学校代码", "学号", "姓名", "年级", "班级"}, {"S1", "001", "张", "初一", "1班"}, {"S1", "002", "陈", "高二", ""}},
		KindKnowledgePoints: {{"学科", "年级", "编码", "上级编码", "名称", "排序"},
			{"数学", "7", "A", "", "a", "1"}, {"数学", "7", "B", "A", "b", "2"}},
	}
	for kind, rows := range files {
		var b strings.Builder
		for _, row := range rows {
			fmt.Fprintln(&b, strings.Join(row, ","))
		}
		pc, ec := Parse(strings.NewReader(b.String()), "f.csv", kind, testSubjects)
		px, ex := Parse(bytes.NewReader(makeXLSX(t, rows)), "f.xlsx", kind, testSubjects)
		if !reflect.DeepEqual(pc, px) || fmt.Sprint(ec) != fmt.Sprint(ex) {
			t.Errorf("%s: CSV gives %+v, %v; XLSX gives %+v, %v", kind, pc, ec, px, ex)
		}
	}
}

// Excel stores typed numbers as numbers; the importer reads what the cell shows.
func TestXLSXNumbers(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetRow("Sheet1", "A1", &[]any{"school_code", "student_no", "name", "grade", "class"}))
	must(f.SetSheetRow("Sheet1", "A2", &[]any{"S1", 202400012345, "张", 7, 3}))
	must(f.SetSheetRow("Sheet1", "A3", &[]any{"S1", 20240002, "陈", 7.0, "3班"}))
	var b bytes.Buffer
	must(f.Write(&b))
	p, errs := parseBytes(t, KindStudents, b.Bytes())
	if errs != nil {
		t.Fatal(errs)
	}
	if s := p.Students[0]; s.StudentNo != "202400012345" || s.Grade != 7 || s.Class != "3" {
		t.Errorf("row 2 = %+v", s)
	}
	if s := p.Students[1]; s.StudentNo != "20240002" || s.Grade != 7 {
		t.Errorf("row 3 = %+v", s)
	}
}

func TestTemplatesParseBack(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds {
		for _, format := range []Format{FormatCSV, FormatXLSX} {
			data, name, ctype, err := Template(kind, format)
			if err != nil {
				t.Fatalf("%s %s: %v", kind, format, err)
			}
			if name != "yunke-"+string(kind)+"-template."+string(format) || ctype == "" {
				t.Errorf("%s %s: name %q type %q", kind, format, name, ctype)
			}
			if format == FormatCSV && !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
				t.Errorf("%s CSV template has no byte order mark", kind)
			}
			p, errs := parseBytes(t, kind, data)
			if errs != nil {
				t.Errorf("%s %s: %v", kind, format, errs)
				continue
			}
			if p.Rows != 2 || p.Kind != kind {
				t.Errorf("%s %s: %d rows, kind %s", kind, format, p.Rows, p.Kind)
			}
		}
	}
	if _, _, _, err := Template("nope", FormatCSV); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, _, _, err := Template(KindSchools, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("code,name,kind\n")
	for i := range MaxRows + 5 {
		fmt.Fprintf(&b, "S%d,n,小学\n", i)
	}
	_, errs := parseString(t, KindSchools, b.String())
	checkErrors(t, errs, []wantErr{{MaxRows + 2, "", "too many rows"}})

	b.Reset()
	b.WriteString("code,name,kind\n")
	for range MaxErrors + 10 {
		b.WriteString("x y,,\n")
	}
	_, errs = parseString(t, KindSchools, b.String())
	if len(errs) != MaxErrors+1 || !strings.Contains(errs[MaxErrors].Message, fmt.Sprintf("%d more errors", 3*(MaxErrors+10)-MaxErrors)) {
		t.Errorf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}

	big := bytes.Repeat([]byte("a"), MaxFileSize+1)
	if _, err := Parse(bytes.NewReader(big), "big.csv", KindSchools, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big file: %v", err)
	}
}

func TestUnreadableFiles(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"old.xls":    "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
		"bad.xlsx":   "PK\x03\x04garbage",
		"binary.csv": "code\x00name",
	} {
		p, err := Parse(strings.NewReader(data), name, KindSchools, nil)
		var re *RowsError
		if err == nil || p != nil && (!errors.As(err, &re) || p.Rows != 0) {
			t.Errorf("%s: %v, %v", name, p, err)
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := Parse(strings.NewReader("code,name,kind\n"), "", "nope", nil); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestParseKindAndFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Kind{"schools": KindSchools, " Teachers ": KindTeachers, "knowledge-points": KindKnowledgePoints, "STUDENTS": KindStudents} {
		if got, err := ParseKind(in); got != want || err != nil {
			t.Errorf("ParseKind(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseKind("parents"); err == nil {
		t.Error("ParseKind accepted parents")
	}
	for in, want := range map[string]Format{"csv": FormatCSV, "XLSX": FormatXLSX} {
		if got, err := ParseFormat(in); got != want || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xls"); err == nil {
		t.Error("ParseFormat accepted xls")
	}
}

func TestRowsError(t *testing.T) {
	t.Parallel()
	err := error(&RowsError{Errors: []RowError{{Row: 2, Column: "grade", Message: "bad"}, {Row: 3, Message: "worse"}, {Row: 4, Column: "a", Message: "b"}, {Row: 5, Column: "c", Message: "d"}}})
	if !errors.Is(err, ErrRows) {
		t.Error("RowsError does not wrap ErrRows")
	}
	if got := err.Error(); got != "4 errors: row 2, grade: bad; row 3: worse; row 4, a: b; …" {
		t.Errorf("Error() = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, kind := range Kinds {
		for _, format := range []Format{FormatCSV, FormatXLSX} {
			data, _, _, err := Template(kind, format)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, uint8(0))
		}
	}
	f.Add([]byte("code,name,kind\nS1,\"a\"b\",小学\n\n,,"), uint8(0))
	f.Add([]byte("sep=;\nsubject;grade;code;parent_code;name\nmath;7;A;B;a\nmath;7;B;A;b\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, k uint8) {
		kind := Kinds[int(k)%len(Kinds)]
		p, err := Parse(bytes.NewReader(data), "fuzz", kind, testSubjects)
		var re *RowsError
		isRows := errors.As(err, &re)
		if (p == nil) == (err == nil || isRows) {
			t.Fatalf("Parse returned %v and %v", p, err)
		}
		if isRows && len(re.Errors) == 0 {
			t.Fatal("RowsError without rows")
		}
	})
}
