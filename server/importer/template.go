package importer

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Content types of the two formats.
const (
	ContentTypeCSV  = "text/csv; charset=utf-8"
	ContentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// Template returns a blank spreadsheet for kind: a header row ("学号(student_no)"
// — Parse reads either part) and two example rows. A CSV template is UTF-8
// with a byte order mark, so that Excel opens it correctly; in an XLSX
// template every cell is formatted as text, so that Excel keeps the leading
// zeros of codes and numbers.
func Template(kind Kind, format Format) (data []byte, filename, contentType string, err error) {
	sc, ok := schemas[kind]
	if !ok {
		return nil, "", "", fmt.Errorf("unknown import kind %q", kind)
	}
	rows := templateRows(sc)
	base := "yunke-" + string(kind) + "-template"
	switch format {
	case FormatCSV:
		var b bytes.Buffer
		b.WriteString("\ufeff")
		w := csv.NewWriter(&b)
		w.UseCRLF = true // what Excel writes
		if err := w.WriteAll(rows); err != nil {
			return nil, "", "", err
		}
		return b.Bytes(), base + ".csv", ContentTypeCSV, nil
	case FormatXLSX:
		data, err := xlsxTemplate(sc, rows)
		if err != nil {
			return nil, "", "", err
		}
		return data, base + ".xlsx", ContentTypeXLSX, nil
	}
	return nil, "", "", fmt.Errorf("unknown format %q", format)
}

// SafeCell is text made safe to write into a CSV or XLSX cell: a value
// starting with "=", "+", "-", "@", a tab or a carriage return, which a
// spreadsheet would take for a formula, gets a leading "'" (OWASP's advice
// against formula injection). Every cell the server writes goes through
// it; Parse takes the quote off again.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune(formulaStarts, rune(s[0])) {
		return "'" + s
	}
	return s
}

// formulaStarts are the first characters that make a cell a formula.
const formulaStarts = "=+-@\t\r"

func templateRows(sc *schema) [][]string {
	header := make([]string, len(sc.columns))
	for i, c := range sc.columns {
		header[i] = SafeCell(c.header())
	}
	rows := [][]string{header}
	for r := range sc.columns[0].example {
		row := make([]string, len(sc.columns))
		for i, c := range sc.columns {
			row[i] = SafeCell(c.example[r])
		}
		rows = append(rows, row)
	}
	return rows
}

func xlsxTemplate(sc *schema, rows [][]string) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := sc.sheet
	if err := f.SetSheetName(f.GetSheetName(0), sheet); err != nil {
		return nil, err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": text
	if err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{
		NumFmt: 49,
		Font:   &excelize.Font{Bold: true},
		Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Border: []excelize.Border{{Type: "bottom", Color: "8EA9DB", Style: 1}},
	})
	if err != nil {
		return nil, err
	}
	last, err := excelize.ColumnNumberToName(len(sc.columns))
	if err != nil {
		return nil, err
	}
	if err := f.SetColStyle(sheet, "A:"+last, text); err != nil {
		return nil, err
	}
	for i, c := range sc.columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		// Roughly: a CJK character is two widths, an ASCII one is one.
		w := 2*float64(len([]rune(c.zh))) + float64(len(c.name)) + 4
		if err := f.SetColWidth(sheet, col, col, max(w, 14)); err != nil {
			return nil, err
		}
	}
	for r, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		vals := make([]any, len(row))
		for i, v := range row {
			vals[i] = v
		}
		if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
			return nil, err
		}
	}
	if err := f.SetCellStyle(sheet, "A1", last+"1", bold); err != nil {
		return nil, err
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
