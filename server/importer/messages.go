package importer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/language"

	"yunke/storage"
)

// Lang is a language the importer's messages are written in.
type Lang string

const (
	// Chinese is Simplified Chinese, what the installations' users read:
	// the language when a caller asks for none the importer knows.
	Chinese Lang = "zh-Hans"
	// English is the language of logs, errors' Error texts and the
	// command line (unless told otherwise).
	English Lang = "en"
)

// langs are the languages there are messages in; the first is the default.
var langs = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// Negotiate picks the language of an Accept-Language header ("zh-CN",
// "en-US,en;q=0.9"…): English for a caller who prefers it, Chinese for
// one who prefers Chinese, sends no header, a malformed one or only
// languages there are no messages in.
func Negotiate(acceptLanguage string) Lang {
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	if _, i, conf := langs.Match(tags...); i == 1 && conf != language.No {
		return English
	}
	return Chinese
}

// A key names a message of the catalog.
type key int

// The messages of the importer. Each one's format is in the catalog, in
// every language, its verbs filled by the same arguments in the same order.
const (
	msgNone key = iota // not a message: a row error made outside the importer

	// Files.
	msgTheFile
	msgTooLarge
	msgReading
	msgEmpty
	msgOldExcel
	msgNotSpreadsheet
	msgBadCSV
	msgBadXLSX
	msgBadXLSXErr
	msgNoWorksheet
	msgReadingSheet
	msgSheetTooLong
	msgSheetRow
	msgExpandsTotal
	msgExpandsToken
	msgExpandsElements
	msgUnreadable

	// The header and the rows.
	msgNoHeader
	msgNoHeaderNear
	msgTooManyRows
	msgCellTooLong
	msgColumnTwice
	msgMissingColumn
	msgMoreErrors

	// Cells.
	msgRequired
	msgTooLongText
	msgCodeChars
	msgControlChars
	msgSchoolKind
	msgGrade
	msgGradeList
	msgUnknownSubject
	msgUnknownSubjects
	msgTrainee
	msgSort
	msgDuplicate
	msgOwnParent
	msgParentLoop
	msgListMore
	msgRange
	msgStart

	// Around the rows.
	msgProblem
	msgProblems
	msgRowLine
	msgRowColumnLine

	numKeys
)

// formats are a message's format in each language.
type formats struct{ en, zh string }

// catalog holds every message of the importer; a test checks that each has
// both formats and that they take the same arguments.
var catalog = [numKeys]formats{
	msgTheFile:        {"the file", "文件"},
	msgTooLarge:       {"the file is larger than %d MiB", "文件超过 %d MiB"},
	msgReading:        {"reading %s: %v", "读取%s出错：%v"},
	msgEmpty:          {"the file is empty: the first row must be the header", "文件是空的：第一行必须是表头"},
	msgOldExcel:       {"%s is an old Excel (.xls) file: save it as .xlsx or CSV and upload it again", "%s 是旧版 Excel（.xls）文件：请另存为 .xlsx 或 CSV 文件后重新上传"},
	msgNotSpreadsheet: {"%s is neither an .xlsx file nor a text (CSV) file", "%s 既不是 .xlsx 文件，也不是文本（CSV）文件"},
	msgBadCSV:         {"unreadable CSV: %s", "无法读取 CSV：%s"},
	msgBadXLSX:        {"%s is not a readable .xlsx file", "%s 不是可以读取的 .xlsx 文件"},
	msgBadXLSXErr:     {"%s is not a readable .xlsx file: %v", "%s 不是可以读取的 .xlsx 文件：%v"},
	msgNoWorksheet:    {"%s has no worksheet", "%s 中没有工作表"},
	msgReadingSheet:   {"%s: reading sheet %s: %v", "%s：读取工作表 %s 出错：%v"},
	msgSheetTooLong:   {"%s has more rows than a worksheet may hold", "%s 的行数超过了工作表的上限"},
	msgSheetRow:       {"%s: row %d: %v", "%s：第 %d 行：%v"},
	msgExpandsTotal: {"%s: the .xlsx file is too large once unpacked: it expands to more than %d MiB",
		"%s：.xlsx 文件解压后过大：解压后超过 %d MiB"},
	msgExpandsToken: {"%s: the .xlsx file is too large once unpacked: a cell or tag is longer than %d KiB (a cell may hold %d characters)",
		"%s：.xlsx 文件解压后过大：有单元格或标签超过 %d KiB（一个单元格最多 %d 个字符）"},
	msgExpandsElements: {"%s: the .xlsx file is too large once unpacked: it holds far more cells and texts than %d rows take; split it into several files",
		"%s：.xlsx 文件解压后过大：其中的单元格和文本远远多于 %d 行所需，请拆分成多个文件"},
	msgUnreadable: {"the file cannot be read: %v", "无法读取文件：%v"},

	msgNoHeader:      {"no header row: the first row must name the columns (%s)", "没有表头行：第一行必须是列名（%s）"},
	msgNoHeaderNear:  {"no header row: none of the first rows names the columns (%s)", "没有表头行：前几行都不是列名（%s）"},
	msgTooManyRows:   {"too many rows: a file may hold at most %d; split it into several files", "行数过多：一个文件最多 %d 行，请拆分成多个文件"},
	msgCellTooLong:   {"the cell is too long: at most %d characters, got %d", "单元格过长：最多 %d 个字符，实际 %d 个"},
	msgColumnTwice:   {"column %s appears twice (columns %s and %s)", "“%s”列出现了两次（%s 列和 %s 列）"},
	msgMissingColumn: {"missing column %s", "缺少“%s”列"},
	msgMoreErrors:    {"%d more errors not listed: fix these and upload again", "另有 %d 个错误未列出：请先改正以上错误，再重新上传"},

	msgRequired:     {"%s is required", "%s不能为空"},
	msgTooLongText:  {"%s is too long: at most %d characters, got %d", "%s过长：最多 %d 个字符，实际 %d 个"},
	msgCodeChars:    {`%s may hold only letters, digits, "-" and "_", got %s`, "%s只能包含字母、数字、“-”和“_”，实际为 %s"},
	msgControlChars: {"%s contains a control character or an invisible one", "%s含有控制字符或不可见字符"},
	msgSchoolKind: {"%s must be one of 小学 初中 高中 完全中学 九年一贯制 幼儿园 (or primary, junior_secondary, senior_secondary, complete_secondary, nine_year, kindergarten), got %s",
		"%s必须是 小学、初中、高中、完全中学、九年一贯制、幼儿园 之一（或 primary、junior_secondary、senior_secondary、complete_secondary、nine_year、kindergarten），实际为 %s"},
	msgGrade: {"%s must be 1–12 (or 一年级…, 初一…, 高一…), got %s", "%s必须是 1–12（或 一年级…、初一…、高一…），实际为 %s"},
	msgGradeList: {"%s must be 1–12 (or 一年级…, 初一…, 高一…, or a range such as 7-9), got %s",
		"%s必须是 1–12（或 一年级…、初一…、高一…，或 7-9 这样的范围），实际为 %s"},
	msgUnknownSubject:  {"unknown subject %s: use a subject's code or name", "未知的学科 %s：请填写学科的代码或名称"},
	msgUnknownSubjects: {"unknown subjects %s: use a subject's code or name", "未知的学科 %s：请填写学科的代码或名称"},
	msgTrainee:         {"%s must be 是 or 否 (yes/no, true/false, 1/0), got %s", "%s必须是“是”或“否”（或 yes/no、true/false、1/0），实际为 %s"},
	msgSort:            {"%s must be a whole number, got %s", "%s必须是整数，实际为 %s"},
	msgDuplicate:       {"%s %s is already on row %d", "%s %s 与第 %d 行重复"},
	msgOwnParent:       {"%s %s is the row's own code", "%s %s 就是本行的编码"},
	msgParentLoop:      {"parent codes form a loop: %s", "上级编码形成了循环：%s"},
	msgListMore:        {"%s, and %d more", "%s 等，另有 %d 项"},
	msgRange:           {"%s must be a whole number from %d to %d, got %s", "%s必须是 %d 到 %d 之间的整数，实际为 %s"},
	msgStart: {"%s must be a date and time such as 2026-03-02 08:00, got %s",
		"%s必须是日期和时间，例如 2026-03-02 08:00，实际为 %s"},

	msgProblem:       {"1 problem in the file: nothing was imported", "文件中有 1 处问题，未导入任何数据"},
	msgProblems:      {"%d problems in the file: nothing was imported", "文件中有 %d 处问题，未导入任何数据"},
	msgRowLine:       {"row %d: %s", "第 %d 行：%s"},
	msgRowColumnLine: {"row %d, %s: %s", "第 %d 行，%s：%s"},
}

// storeEn is the English of every message of the store's import, by code.
var storeEn = storage.ImportFormats()

// storeZh is the Chinese of every message of the store's import
// (storage.ImportFormats holds their English), by code.
var storeZh = map[string]string{
	storage.ImportRequired:          "不能为空",
	storage.ImportUnknownSchoolKind: "未知的学段 %q",
	storage.ImportDuplicate:         "%q 与%s表第 %d 行重复",
	storage.ImportGrades:            "任教年级必须在 1 到 12 之间",
	storage.ImportGrade:             "必须在 1 到 12 之间",
	storage.ImportNoSubject:         "没有学科 %q",
	storage.ImportNoSchool:          "没有学校代码为 %q 的学校",
	storage.ImportSchoolOutOfScope:  "你无权向学校 %q 导入",
	storage.ImportSchoolElsewhere:   "学校 %q 属于其他区县",
	storage.ImportInvalidUser:       "数据无效：%s",
	storage.ImportUserOutOfScope:    "%s %q 属于其他学校或你无权修改的账号；请联系其管理员或区县管理员迁移",
	storage.ImportUserElsewhere:     "%s %q 属于其他区县：导入不会在区县之间迁移用户",
}

// storeTerms are the Chinese of the kinds of rows the store names.
var storeTerms = map[string]string{"schools": "学校", "teachers": "教师", "students": "学生"}

// message is a message of the catalog, or of the store, with its
// arguments: it is written out in a language only when shown.
type message struct {
	key  key
	args []any
	// With key msgNone: the store's message code, and its English text
	// for a code the importer does not know.
	code, en string
}

func msg(k key, args ...any) message { return message{key: k, args: args} }

// set reports whether m is a message (a row error made outside the
// importer has none, only its text).
func (m message) set() bool { return m.key != msgNone || m.code != "" }

// localized is an argument that reads differently in each language.
type localized interface{ in(Lang) string }

// format is m's format in l, falling back to English.
func (m message) format(l Lang) (string, bool) {
	var f formats
	switch {
	case m.key > msgNone && m.key < numKeys:
		f = catalog[m.key]
	case m.key == msgNone && m.code != "":
		f = formats{en: storeEn[m.code], zh: storeZh[m.code]}
	}
	if l == Chinese && f.zh != "" {
		return f.zh, true
	}
	return f.en, f.en != ""
}

// in writes m out in l. A message the catalog lacks reads in English, or
// failing that as its arguments: it never panics.
func (m message) in(l Lang) string {
	args := make([]any, len(m.args))
	for i, a := range m.args {
		if x, ok := a.(localized); ok {
			a = x.in(l)
		}
		args[i] = a
	}
	f, ok := m.format(l)
	switch {
	case ok:
		return fmt.Sprintf(f, args...)
	case m.en != "":
		return m.en
	}
	return strings.TrimSuffix(fmt.Sprintln(args...), "\n")
}

// colName is a column as a message names it: by its Chinese header in
// Chinese, by its canonical name in English.
type colName struct{ name, zh string }

func (c colName) in(l Lang) string {
	if l == Chinese && c.zh != "" {
		return c.zh
	}
	return c.name
}

// colHeader is a column by both its names, the language's first.
type colHeader colName

func (c colHeader) in(l Lang) string {
	if l == Chinese {
		return c.zh + "(" + c.name + ")"
	}
	return c.name + " (" + c.zh + ")"
}

// colList lists the columns of a schema by both their names.
type colList struct{ sc *schema }

func (c colList) in(l Lang) string {
	names := make([]string, len(c.sc.columns))
	for i, col := range c.sc.columns {
		if l == Chinese {
			names[i] = col.header()
		} else {
			names[i] = col.name + " " + col.zh
		}
	}
	if l == Chinese {
		return strings.Join(names, "、")
	}
	return strings.Join(names, ", ")
}

// colOf is the column called name in kind's files, as a message names it.
func colOf(kind Kind, name string) colName {
	if sc, ok := schemas[kind]; ok {
		for _, c := range sc.columns {
			if c.name == name {
				return colName{c.name, c.zh}
			}
		}
	}
	return colName{name: name, zh: storeTerms[name]}
}

// fileError is a problem with a file as a whole, which Message writes out
// in the caller's language.
type fileError struct {
	msg message
	err error // wrapped: ErrExpands, or what failed
}

func fileErr(wrapped error, k key, args ...any) *fileError {
	return &fileError{msg: msg(k, args...), err: wrapped}
}

func (e *fileError) Error() string { return e.msg.in(English) }
func (e *fileError) Unwrap() error { return e.err }

// Message is what err, returned by Parse, says to a reader of l: the
// importer's own errors (ErrTooLarge, ErrExpands, a file that cannot be
// read) in l, any other error as its Error text.
func Message(err error, l Lang) string {
	var fe *fileError
	if errors.As(err, &fe) {
		return fe.msg.in(l)
	}
	return err.Error()
}

// Summary is the message of an answer listing n problems of a file.
func Summary(n int, l Lang) string {
	if n == 1 {
		return msg(msgProblem).in(l)
	}
	return msg(msgProblems, n).in(l)
}

// StoreError is the row error of a row the store refused, found on the
// file's row row: its message follows the store's code and arguments, and
// an argument naming a field or a kind of rows (a storage.ImportTerm)
// reads as the column of the file in Chinese.
func StoreError(row int, e storage.ImportRowError) RowError {
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		if t, ok := a.(storage.ImportTerm); ok {
			a = colOf(Kind(e.Kind), string(t))
		}
		args[i] = a
	}
	m := message{args: args, code: e.Code, en: e.Message}
	col := colOf(Kind(e.Kind), e.Field)
	return RowError{Row: row, Column: e.Field, Message: m.in(English), msg: m, col: col.zh}
}
