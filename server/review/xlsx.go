package review

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"yunke/storage"
)

// A rubric as a workbook: one sheet, a header row, then one row per
// criterion — domain, code, name, description, weight, scale (levels or
// numeric), min, max, step, then for a levels scale each level's label and
// descriptor in pairs, lowest level first. Rows of one domain follow each
// other; the domain cell may be left empty to repeat the one above.

const xlsxSheet = "rubric"

var xlsxHeader = []string{"domain", "code", "name", "description", "weight", "scale", "min", "max", "step"}

// maxXLSX bounds an imported workbook.
const maxXLSX = 1 << 20

// WriteXLSX exports a rubric version as a workbook.
func WriteXLSX(rb storage.Rubric) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", xlsxSheet); err != nil {
		return nil, fmt.Errorf("review: export rubric: %w", err)
	}
	header := make([]any, 0, len(xlsxHeader)+2*storage.MaxRubricLevels)
	for _, h := range xlsxHeader {
		header = append(header, h)
	}
	for i := 1; i <= storage.MaxRubricLevels; i++ {
		header = append(header, "level "+strconv.Itoa(i), "descriptor "+strconv.Itoa(i))
	}
	if err := f.SetSheetRow(xlsxSheet, "A1", &header); err != nil {
		return nil, fmt.Errorf("review: export rubric: %w", err)
	}
	row := 2
	for _, d := range rb.Body.Domains {
		for _, c := range d.Criteria {
			vals := []any{d.Name, c.Code, c.Name, c.Description, c.Weight, c.Scale.Kind}
			if c.Scale.Kind == storage.ScaleNumeric {
				vals = append(vals, c.Scale.Min, c.Scale.Max, c.Scale.Step)
			} else {
				vals = append(vals, "", "", "")
				for _, l := range c.Scale.Levels {
					vals = append(vals, l.Label, l.Descriptor)
				}
			}
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := f.SetSheetRow(xlsxSheet, cell, &vals); err != nil {
				return nil, fmt.Errorf("review: export rubric: %w", err)
			}
			row++
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("review: export rubric: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadXLSX reads a rubric body from a workbook laid out as WriteXLSX writes
// it; a malformed row is a FieldError on "file" naming the row.
func ReadXLSX(data []byte) (storage.RubricBody, error) {
	var body storage.RubricBody
	bad := func(row int, msg string) error {
		return &storage.FieldError{Field: "file", Message: fmt.Sprintf("row %d: %s", row, msg)}
	}
	if len(data) == 0 || len(data) > maxXLSX {
		return body, &storage.FieldError{Field: "file", Message: "an XLSX workbook of at most 1 MiB"}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return body, &storage.FieldError{Field: "file", Message: "not a readable XLSX workbook"}
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil {
		return body, &storage.FieldError{Field: "file", Message: "not a readable XLSX workbook"}
	}
	if len(rows) > storage.MaxRubricCriteria+1 {
		return body, &storage.FieldError{Field: "file", Message: fmt.Sprintf("at most %d criteria", storage.MaxRubricCriteria)}
	}
	num := func(s string) (float64, bool) {
		if s == "" {
			return 0, true
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return v, err == nil
	}
	for i, r := range rows {
		if i == 0 {
			continue // header
		}
		n := i + 1
		cell := func(j int) string {
			if j < len(r) {
				return strings.TrimSpace(r[j])
			}
			return ""
		}
		if strings.Join(r, "") == "" {
			continue
		}
		domain := cell(0)
		if domain == "" && len(body.Domains) > 0 {
			domain = body.Domains[len(body.Domains)-1].Name
		}
		if domain == "" {
			return body, bad(n, "no domain")
		}
		w, ok := num(cell(4))
		if !ok {
			return body, bad(n, "the weight is not a number")
		}
		c := storage.RubricCriterion{Code: cell(1), Name: cell(2), Description: cell(3), Weight: w, Scale: storage.RubricScale{Kind: cell(5)}}
		switch c.Scale.Kind {
		case storage.ScaleNumeric:
			var ok1, ok2, ok3 bool
			c.Scale.Min, ok1 = num(cell(6))
			c.Scale.Max, ok2 = num(cell(7))
			c.Scale.Step, ok3 = num(cell(8))
			if !ok1 || !ok2 || !ok3 {
				return body, bad(n, "min, max and step are numbers")
			}
		case storage.ScaleLevels:
			for j := 9; j < len(r); j += 2 {
				if cell(j) == "" {
					break
				}
				c.Scale.Levels = append(c.Scale.Levels, storage.RubricLevel{Value: len(c.Scale.Levels) + 1, Label: cell(j), Descriptor: cell(j + 1)})
			}
		default:
			return body, bad(n, "the scale is levels or numeric")
		}
		if k := len(body.Domains); k == 0 || body.Domains[k-1].Name != domain {
			body.Domains = append(body.Domains, storage.RubricDomain{Name: domain})
		}
		d := &body.Domains[len(body.Domains)-1]
		d.Criteria = append(d.Criteria, c)
	}
	return body, body.Check()
}
