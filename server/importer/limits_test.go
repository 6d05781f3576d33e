package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// bigCellXLSX is a students workbook whose row 2 holds, as its name, a
// cell of size bytes: head, then filler repeated, then tail. The file
// stays small, as an attacker's would: the cell is streamed into the zip.
func bigCellXLSX(t *testing.T, head string, filler byte, size int, tail string) []byte {
	t.Helper()
	const mark = "NAME-PLACEHOLDER"
	tmpl := makeXLSX(t, [][]string{{"school_code", "student_no", "name", "grade"}, {"S1", "1", mark, "3"}})
	zr, err := zip.NewReader(bytes.NewReader(tmpl), int64(len(tmpl)))
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{filler}, 64<<10)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		before, after, ok := bytes.Cut(data, []byte(mark))
		if !ok {
			_, _ = w.Write(data)
			continue
		}
		found = true
		_, _ = w.Write(before)
		_, _ = io.WriteString(w, head)
		for n := size - len(head) - len(tail); n > 0; n -= len(chunk) {
			_, _ = w.Write(chunk[:min(n, len(chunk))])
		}
		_, _ = io.WriteString(w, tail)
		_, _ = w.Write(after)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("no placeholder in the template workbook")
	}
	return out.Bytes()
}

// TestHugeCell: a small workbook that expands to one huge cell is refused
// with ErrExpands before it is read, in little memory. It is not parallel:
// it measures the memory the process allocates.
func TestHugeCell(t *testing.T) {
	const bound = 8 << 20 // bytes Parse may allocate for any of these files
	// The shared strings of a few kilobytes of zip, which excelize would
	// spend a kilobyte each on.
	manyStrings := strings.Repeat("</t></si><si><t>a", 300_000)
	for _, c := range []struct {
		name             string
		head             string
		filler           byte
		size             int
		tail             string
		maxCompressedLen int
		why              string
	}{
		{"190 MiB cell", "", 'x', 190 << 20, "", 400 << 10, "expands to more than 32 MiB"},
		{"20 MiB cell, under the unzipped limit", "", 'x', 20 << 20, "", 100 << 10, "a cell or tag is longer than 64 KiB"},
		{"20 MiB CDATA section full of <", "<![CDATA[", '<', 20 << 20, "]]>", 100 << 10, "longer than 64 KiB"},
		{"20 MiB comment", "<!--", 'x', 20 << 20, "-->", 100 << 10, "longer than 64 KiB"},
		{"300,000 shared strings", manyStrings, 'x', len(manyStrings) + 1, "", 100 << 10, "far more cells and texts than 50000 rows take"},
	} {
		data := bigCellXLSX(t, c.head, c.filler, c.size, c.tail)
		if len(data) > c.maxCompressedLen {
			t.Fatalf("%s: the workbook takes %d bytes", c.name, len(data))
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p, err := Parse(bytes.NewReader(data), "big.xlsx", KindStudents, testSubjects)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrExpands) || p != nil {
			t.Errorf("%s: %v, %v; want ErrExpands", c.name, p, err)
		} else if !strings.Contains(err.Error(), "big.xlsx: the .xlsx file is too large once unpacked") || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: unclear error %q", c.name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > bound {
			t.Errorf("%s: Parse allocated %d MiB; want at most %d", c.name, n>>20, bound>>20)
		}
	}

	// A long cell within the limits reads as ever, and is a row error.
	data := bigCellXLSX(t, "", 'x', MaxCellLen+1, "")
	_, errs := parseBytes(t, KindStudents, data)
	checkErrors(t, errs, []wantErr{{2, "name", fmt.Sprintf("at most %d characters, got %d", MaxCellLen, MaxCellLen+1)}})
}

func TestLongCells(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("长", MaxCellLen+1)
	ok := strings.Repeat("x", MaxCellLen)
	p, errs := parseString(t, KindSchools, "code,name,kind,note\n"+
		"S1,"+long+",小学,\n"+ // 2: a long name
		"S2,二小,小学,"+long+"\n"+ // 3: a long cell in a column that is not read
		"S3,三小,小学,"+ok+"\n") // 4: long, but not too long
	checkErrors(t, errs, []wantErr{
		{2, "name", fmt.Sprintf("the cell is too long: at most %d characters, got %d", MaxCellLen, MaxCellLen+1)},
		{3, "D", "the cell is too long"},
	})
	if len(p.Schools) != 1 || p.Schools[0].Code != "S3" || p.RowNumbers[0] != 4 {
		t.Errorf("valid rows %+v at %v", p.Schools, p.RowNumbers)
	}
}

// TestMessagesShowLittleOfACell: an error repeats at most about 100
// characters of what the file holds.
func TestMessagesShowLittleOfACell(t *testing.T) {
	t.Parallel()
	junk := strings.Repeat("学", 900)
	words := strings.TrimSpace(strings.Repeat("nope ", 150))
	_, errs := parseString(t, KindTeachers, "school_code,staff_no,name,subjects,grades,trainee\n"+
		"S1,T1,王,"+words+","+junk+","+junk+"\n")
	if len(errs) != 3 {
		t.Fatalf("errors %v", errs)
	}
	for _, e := range errs {
		// 100 characters of the cell, with quotes and words around them.
		if n := utf8.RuneCountInString(e.Message); n > 300 {
			t.Errorf("%s: a message of %d characters: %s", e.Column, n, e.Message)
		}
	}
	_, errs = parseBytes(t, KindStudents, []byte("school_code,student_no,name,grade\nS1,1,张,"+junk+"\n"))
	if len(errs) != 1 || !strings.Contains(errs[0].Message, strings.Repeat("学", maxShown)+"…") ||
		strings.Contains(errs[0].Message, strings.Repeat("学", maxShown+1)) {
		t.Errorf("grade error %v: want the first %d characters of the cell", errs, maxShown)
	}
}

func TestSafeCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1":                       "'+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tx":                      "'\tx",
		"\rx":                      "'\rx",
		"":                         "",
		"张三":                       "张三",
		"a=b":                      "a=b",
		"'=already":                "'=already",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
	// What SafeCell writes, Parse reads back as it was.
	p, errs := parseString(t, KindSchools, "code,name,kind\nS1,"+SafeCell("=1+2")+",小学\nS2,"+SafeCell("-二小")+",小学\n")
	if errs != nil || p.Schools[0].Name != "=1+2" || p.Schools[1].Name != "-二小" {
		t.Errorf("read back %+v, %v", p, errs)
	}
}

func TestTemplatesAreSafe(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds {
		for _, row := range templateRows(schemas[kind]) {
			for _, cell := range row {
				if cell != SafeCell(cell) && !strings.HasPrefix(cell, "'") {
					t.Errorf("%s template cell %q is not safe", kind, cell)
				}
			}
		}
	}
}

func TestSortErrors(t *testing.T) {
	t.Parallel()
	got := SortErrors([]RowError{{Row: 5}, {Row: 2}}, []RowError{{Row: 3}}, nil)
	if fmt.Sprint(got) != fmt.Sprint([]RowError{{Row: 2}, {Row: 3}, {Row: 5}}) {
		t.Errorf("SortErrors = %v", got)
	}
	many := make([]RowError, MaxErrors+7)
	for i := range many {
		many[i] = RowError{Row: i + 2}
	}
	got = SortErrors(many)
	if len(got) != MaxErrors+1 || !strings.Contains(got[MaxErrors].Message, "7 more errors") {
		t.Errorf("%d errors, last %v", len(got), got[len(got)-1])
	}
	if re := (&RowsError{Errors: got}); !re.Truncated() {
		t.Error("a cut list is not Truncated")
	}
}

func TestCheckXML(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		xml   string
		elems int
		want  error
	}{
		{`<?xml version="1.0"?><a x="1>2"><b/><!-- <c> --><![CDATA[<d>]]></a>`, 2, nil},
		{"<a>" + strings.Repeat("x", maxXMLToken) + "</a>", 1, errLongToken},
		{"<a>" + strings.Repeat("x", maxXMLToken-10) + "</a>", 1, nil},
		{`<a b="` + strings.Repeat(">", maxXMLToken) + `"/>`, 1, errLongToken},
		{"<?pi " + strings.Repeat("<", maxXMLToken) + "?>", 0, errLongToken},
		{strings.Repeat("<a/>", 11), 11, errManyElements},
		{strings.Repeat("<a/>", 10), 10, nil},
	} {
		n, err := checkXML(strings.NewReader(c.xml), 10)
		if !errors.Is(err, c.want) || err == nil && n != c.elems {
			t.Errorf("checkXML(%.40q…) = %d, %v; want %d, %v", c.xml, n, err, c.elems, c.want)
		}
	}
}
