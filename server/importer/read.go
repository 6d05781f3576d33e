package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
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
		return nil, &RowsError{Errors: []RowError{rowErr(1, colName{}, msg(msgEmpty))}}
	case bytes.HasPrefix(data, zipMagic):
		return xlsxTable(data, name), nil
	case bytes.HasPrefix(data, oleMagic):
		return nil, fileErr(nil, msgOldExcel, displayName(name))
	}
	text, err := decodeText(data)
	if err != nil {
		return nil, fileErr(err, msgNotSpreadsheet, displayName(name))
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
			return &RowsError{Errors: []RowError{rowErr(row+1+max(0, line-linesDone-1), colName{}, msg(msgBadCSV, csvReason(err)))}}
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
				err = fileErr(nil, msgBadXLSX, displayName(name))
			}
		}()
		if err := checkWorkbook(data, name); err != nil {
			return err
		}
		// Everything stays in memory (no temporary files): MaxUnzipped at most.
		f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: MaxUnzipped, UnzipXMLSizeLimit: MaxUnzipped})
		if err != nil {
			return fileErr(err, msgBadXLSXErr, displayName(name), err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return fileErr(nil, msgNoWorksheet, displayName(name))
		}
		rows, err := f.Rows(sheets[0])
		if err != nil {
			return fileErr(err, msgReadingSheet, displayName(name), shown(sheets[0]), err)
		}
		defer rows.Close()
		for row := 1; rows.Next(); row++ {
			if row > excelize.TotalRows {
				return fileErr(nil, msgSheetTooLong, displayName(name))
			}
			cells, err := rows.Columns()
			if err != nil {
				return fileErr(err, msgSheetRow, displayName(name), row, err)
			}
			if !fn(row, cells) {
				return nil
			}
		}
		if err := rows.Error(); err != nil {
			return fileErr(err, msgReadingSheet, displayName(name), shown(sheets[0]), err)
		}
		return nil
	}
}

// Limits on the XML of a workbook, checked before excelize reads it:
// excelize holds a token whole in memory, and copies it, however the sheet
// is read, and spends about a kilobyte and some microseconds on every
// shared string.
const (
	// maxXMLToken is the longest run of text, tag, comment, CDATA section or
	// processing instruction (64 KiB): far more than a cell of MaxCellLen
	// characters takes, even escaped.
	maxXMLToken = 64 << 10
	// maxElements is the most XML elements a workbook may hold in all; a
	// file of MaxRows rows of six columns takes under a million.
	maxElements = 2_000_000
	// maxSharedElements is the most elements of its table of shared
	// strings: 250,000 plain texts, five for every row of MaxRows.
	maxSharedElements = 500_000
)

// sharedStrings is where excelize reads a workbook's shared strings.
const sharedStrings = "xl/sharedstrings.xml"

// checkWorkbook reads every XML part of a workbook once, as a stream,
// before excelize opens it, and refuses with ErrExpands one that breaks
// MaxUnzipped or the limits above.
func checkWorkbook(data []byte, name string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fileErr(err, msgBadXLSXErr, displayName(name), err)
	}
	var total uint64
	for _, f := range zr.File {
		// Reading a part past the size the zip declares for it fails.
		if total += f.UncompressedSize64; total > MaxUnzipped {
			return fileErr(ErrExpands, msgExpandsTotal, displayName(name), MaxUnzipped>>20)
		}
	}
	elements := 0
	for _, f := range zr.File {
		if !xmlPart(f.Name) {
			continue
		}
		limit := maxElements - elements
		if strings.EqualFold(f.Name, sharedStrings) {
			limit = min(limit, maxSharedElements)
		}
		rc, err := f.Open()
		if err != nil {
			return fileErr(err, msgBadXLSXErr, displayName(name), err)
		}
		n, err := checkXML(rc, limit)
		rc.Close()
		elements += n
		switch {
		case errors.Is(err, errLongToken):
			return fileErr(ErrExpands, msgExpandsToken, displayName(name), maxXMLToken>>10, MaxCellLen)
		case errors.Is(err, errManyElements):
			return fileErr(ErrExpands, msgExpandsElements, displayName(name), MaxRows)
		case err != nil:
			return fileErr(err, msgBadXLSXErr, displayName(name), err)
		}
	}
	return nil
}

// xmlPart reports whether a part of a workbook is XML (pictures and other
// binary parts are not parsed, so their size is all that matters).
func xmlPart(name string) bool {
	name = strings.ToLower(name)
	return strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels") || strings.HasSuffix(name, ".vml")
}

var (
	errLongToken    = errors.New("token too long")
	errManyElements = errors.New("too many elements")
)

// checkXML reads r to its end and returns how many elements it holds. It
// fails with errLongToken at the first token longer than maxXMLToken, and
// with errManyElements past maxElems elements. Text and attribute values
// cannot hold "<", so every "<" starts a new token, except within
// comments, CDATA sections and processing instructions, which run to their
// own end.
func checkXML(r io.Reader, maxElems int) (int, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var (
		elems  int
		run    int    // bytes of the current token
		closer string // the end of the comment, CDATA section or instruction being read
		prev   [2]byte
	)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return elems, nil
		}
		if err != nil {
			return elems, err
		}
		run++
		switch {
		case closer != "":
			if tail := closer[:len(closer)-1]; c == '>' && string(prev[2-len(tail):]) == tail {
				closer = ""
			}
		case c == '<':
			run = 1
			next, _ := br.Peek(8)
			switch {
			case bytes.HasPrefix(next, []byte("!--")):
				closer = "-->"
			case bytes.HasPrefix(next, []byte("![CDATA[")):
				closer = "]]>"
			case bytes.HasPrefix(next, []byte("?")):
				closer = "?>"
			case bytes.HasPrefix(next, []byte("/")), bytes.HasPrefix(next, []byte("!")):
			default:
				if elems++; elems > maxElems {
					return elems, errManyElements
				}
			}
		}
		if run > maxXMLToken {
			return elems, errLongToken
		}
		prev[0], prev[1] = prev[1], c
	}
}
