package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// rowFunc receives one spreadsheet row: its number as a spreadsheet shows
// it (1-based) and its cells. It returns false to stop reading.
type rowFunc func(row int, cells []string) bool

// table is a file's first sheet, read row by row.
type table func(fn rowFunc) error

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") // legacy .xls (and .doc)
)

// readTable recognises the format by content: a zip archive is XLSX,
// anything else text is CSV.
func readTable(data []byte, name string) (table, error) {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return nil, &RowsError{Errors: []RowError{{Row: 1, Message: "the file is empty: the first row must be the header"}}}
	case bytes.HasPrefix(data, zipMagic):
		return xlsxTable(data, name), nil
	case bytes.HasPrefix(data, oleMagic):
		return nil, fmt.Errorf("%s is an old Excel (.xls) file: save it as .xlsx or CSV and upload it again", displayName(name))
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, fmt.Errorf("%s is neither an .xlsx file nor a text (CSV) file", displayName(name))
	}
	return csvTable(text), nil
}

// decodeText returns the file as UTF-8. Excel saves "CSV UTF-8" with a byte
// order mark, plain "CSV" in the system code page (GB18030/GBK on zh-CN
// Windows), and "Unicode text" as UTF-16 with a byte order mark.
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		data = data[3:]
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		out, err := dec.Bytes(data)
		if err != nil {
			return "", err
		}
		return string(out), nil
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return "", errors.New("binary data")
	}
	if utf8.Valid(data) {
		return string(data), nil
	}
	// GB18030 is a superset of GBK and GB2312, so it reads all three.
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// csvTable reads text as CSV. The separator is a comma unless the first line
// is Excel's "sep=;" hint or the header has more semicolons or tabs than
// commas.
func csvTable(text string) table {
	return func(fn rowFunc) error {
		if line, rest, _ := strings.Cut(text, "\n"); strings.HasPrefix(strings.ToLower(line), "sep=") {
			if sep := strings.TrimRight(line[4:], "\r"); utf8.RuneCountInString(sep) == 1 {
				return readCSV(rest, []rune(sep)[0], fn)
			}
		}
		return readCSV(text, sniffSeparator(text), fn)
	}
}

func sniffSeparator(text string) rune {
	// The header is the first line with anything on it.
	var header string
	for line := range strings.Lines(text) {
		if strings.TrimSpace(line) != "" {
			header = line
			break
		}
	}
	best, bestN := ',', strings.Count(header, ",")
	for _, sep := range []rune{';', '\t', '；'} {
		if n := strings.Count(header, string(sep)); n > bestN {
			best, bestN = sep, n
		}
	}
	return best
}

func readCSV(text string, sep rune, fn rowFunc) error {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sep
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	// encoding/csv skips empty lines, which a spreadsheet shows as empty
	// rows: count the lines consumed to keep row numbers as Excel's.
	row, linesDone := 0, 0
	var offset int64
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		line := linesDone + 1
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return &RowsError{Errors: []RowError{{Row: row + 1 + max(0, line-linesDone-1), Message: "unreadable CSV: " + csvReason(err)}}}
		}
		line, _ = r.FieldPos(0)
		row += 1 + max(0, line-linesDone-1)
		next := r.InputOffset()
		linesDone += strings.Count(text[offset:next], "\n")
		if next == int64(len(text)) && !strings.HasSuffix(text, "\n") {
			linesDone++
		}
		offset = next
		if !fn(row, rec) {
			return nil
		}
	}
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// xlsxTable reads the first sheet of a workbook, each cell as its number
// format shows it.
func xlsxTable(data []byte, name string) table {
	return func(fn rowFunc) (err error) {
		// The workbook comes from a user: a malformed one must be an error,
		// whatever the XML and zip readers make of it.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s is not a readable .xlsx file", displayName(name))
			}
		}()
		f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: 20 * MaxFileSize})
		if err != nil {
			return fmt.Errorf("%s is not a readable .xlsx file: %w", displayName(name), err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return fmt.Errorf("%s has no worksheet", displayName(name))
		}
		rows, err := f.Rows(sheets[0])
		if err != nil {
			return fmt.Errorf("%s: reading sheet %q: %w", displayName(name), sheets[0], err)
		}
		defer rows.Close()
		for row := 1; rows.Next(); row++ {
			if row > excelize.TotalRows {
				return fmt.Errorf("%s has more rows than a worksheet may hold", displayName(name))
			}
			cells, err := rows.Columns()
			if err != nil {
				return fmt.Errorf("%s: row %d: %w", displayName(name), row, err)
			}
			if !fn(row, cells) {
				return nil
			}
		}
		if err := rows.Error(); err != nil {
			return fmt.Errorf("%s: reading sheet %q: %w", displayName(name), sheets[0], err)
		}
		return nil
	}
}
