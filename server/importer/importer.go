// Package importer reads the spreadsheets schools keep their rosters in (CSV
// or XLSX) into validated storage rows, and writes the blank templates for
// them. It never touches the database: the caller hands the rows to the
// store, which applies them in one transaction.
//
// The column contract is in docs/api.md, section "Import".
package importer

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"yunke/storage"
)

// Kind is what one spreadsheet holds.
type Kind string

const (
	KindSchools         Kind = "schools"
	KindTeachers        Kind = "teachers"
	KindStudents        Kind = "students"
	KindKnowledgePoints Kind = "knowledge_points"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{KindSchools, KindTeachers, KindStudents, KindKnowledgePoints}

// Format is a spreadsheet file format.
type Format string

const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
)

// MaxFileSize is the largest file Parse reads (10 MiB).
const MaxFileSize = 10 << 20

// MaxUnzipped is the most an XLSX file (a zip of XML) may expand to,
// 32 MiB: a roster of MaxRows rows takes a few, and a few hundred
// kilobytes of zip can otherwise expand to gigabytes.
const MaxUnzipped = 32 << 20

// MaxCellLen is the longest cell, in characters, a file may hold in any
// column; a longer one is a row error.
const MaxCellLen = 1000

// MaxRows is the most data rows (not counting the header and blank rows)
// one file may hold.
const MaxRows = 50_000

// MaxErrors is the most row errors Parse reports; past it, one last entry
// says how many more there were.
const MaxErrors = 1000

var (
	// ErrRows: some rows are invalid. The error is a *RowsError listing them.
	ErrRows = errors.New("invalid rows")
	// ErrTooLarge: the file is larger than MaxFileSize.
	ErrTooLarge error = fileErr(nil, msgTooLarge, MaxFileSize>>20)
	// ErrExpands: an XLSX file is too large once unpacked: it expands past
	// MaxUnzipped, holds one cell or tag far too long to read, or far more
	// cells than MaxRows rows take. The error says which.
	ErrExpands = errors.New("the .xlsx file is too large once unpacked")
)

// RowError is one problem with one cell (or, with an empty Column, one row).
// Row is numbered as a spreadsheet shows it: the header is row 1. Column
// is the column's canonical English name. Message is in English; In
// writes it in another language.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`

	msg message // what Message says, to be written in another language
	col string  // the column's Chinese header, if known
}

// rowErr is a row error with its message of the catalog.
func rowErr(row int, col colName, m message) RowError {
	return RowError{Row: row, Column: col.name, Message: m.in(English), msg: m, col: col.zh}
}

func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, %s: %s", e.Row, e.Column, e.Message)
}

// In is e with its Message in l. A row error made outside the importer,
// with only a Message, stays as it is.
func (e RowError) In(l Lang) RowError {
	if e.msg.set() {
		e.Message = e.msg.in(l)
	}
	return e
}

// Line is e as one line of text in l: "row 3, grade: …", "第 3 行，年级：…".
func (e RowError) Line(l Lang) string {
	e = e.In(l)
	if e.Column == "" {
		return msg(msgRowLine, e.Row, e.Message).in(l)
	}
	return msg(msgRowColumnLine, e.Row, colName{e.Column, e.col}, e.Message).in(l)
}

// RowsError lists every invalid row of a file, in row order.
type RowsError struct{ Errors []RowError }

func (e *RowsError) Error() string {
	const show = 3
	var b strings.Builder
	if len(e.Errors) == 1 {
		b.WriteString("1 error: ")
	} else {
		fmt.Fprintf(&b, "%d errors: ", len(e.Errors))
	}
	for i, re := range e.Errors {
		if i == show {
			b.WriteString("; …")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(re.String())
	}
	return b.String()
}

func (e *RowsError) Unwrap() error { return ErrRows }

// Truncated reports whether the list was cut at MaxErrors (its last entry
// then says how many more there were).
func (e *RowsError) Truncated() bool { return len(e.Errors) > MaxErrors }

// SortErrors merges lists of row errors found by different checks into
// one, in row order, cut at MaxErrors like Parse's.
func SortErrors(lists ...[]RowError) []RowError {
	var all []RowError
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.SortStableFunc(all, func(a, b RowError) int { return a.Row - b.Row })
	if len(all) > MaxErrors {
		more := len(all) - MaxErrors
		all = append(all[:MaxErrors], rowErr(all[MaxErrors-1].Row, colName{}, msg(msgMoreErrors, more)))
	}
	return all
}

// Parsed is a valid file. Only the slice of its Kind is filled.
type Parsed struct {
	Kind            Kind
	Rows            int // data rows read (blank rows are skipped)
	Schools         []storage.SchoolRow
	Teachers        []storage.TeacherRow
	Students        []storage.StudentRow
	KnowledgePoints []storage.KnowledgePointRow
	Classes         []ClassRow
	// RowNumbers[i] is the spreadsheet row (the header being row 1) of the
	// i-th entry of the filled slice, for errors found after parsing.
	RowNumbers []int
}

// ParseKind accepts a Kind's name (case-insensitive; "knowledge-points" too).
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_"))
	for _, x := range Kinds {
		if k == x {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown import kind %q: want schools, teachers, students or knowledge_points", s)
}

// ParseFormat accepts "csv" or "xlsx" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatCSV, FormatXLSX:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want csv or xlsx", s)
}

// Parse reads a whole CSV or XLSX file (told apart by content, not by name)
// and validates every row against the columns of kind. subjects resolves
// the subject names and codes a file may use. It returns a *RowsError
// (wrapping ErrRows) listing every bad row at once, ErrTooLarge,
// ErrExpands, or another error for a file that cannot be read at all;
// Message writes those out in a user's language.
// name is the file's name, used only to give a better message for files of
// other formats.
//
// With a *RowsError, the Parsed returned is not nil: it holds the rows that
// are valid, so that the caller can check them further (against the
// database) and report every problem of the file at once.
func Parse(r io.Reader, name string, kind Kind, subjects []storage.Subject) (*Parsed, error) {
	sc, ok := schemas[kind]
	if !ok {
		return nil, fmt.Errorf("unknown import kind %q", kind)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fileErr(err, msgReading, displayName(name), err)
	}
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	tab, err := readTable(data, name)
	var re *RowsError
	switch {
	case errors.As(err, &re):
		return &Parsed{Kind: kind}, err
	case err != nil:
		return nil, err
	}
	p := newParser(kind, sc, subjects)
	if err := p.run(tab); err != nil {
		return nil, err
	}
	if len(p.errs) > 0 {
		return p.out, &RowsError{Errors: p.finishErrors()}
	}
	return p.out, nil
}

// displayName is how a message names the file called name.
func displayName(name string) any {
	if name == "" {
		return msg(msgTheFile)
	}
	if utf8.RuneCountInString(name) > maxShown {
		return string([]rune(name)[:maxShown]) + "…"
	}
	return name
}
