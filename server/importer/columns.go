package importer

import (
	"strings"

	"golang.org/x/text/width"
)

// A column is one field of a kind's rows.
type column struct {
	name     string   // canonical English name, used in RowError.Column
	zh       string   // the Chinese header of the templates
	aliases  []string // other accepted headers, besides name and zh
	required bool     // the header must have it and every row must fill it
	example  []string // template example values, one per example row
}

// schema is the column contract of one kind (docs/api.md, "Import").
type schema struct {
	sheet   string // sheet name of the XLSX template
	columns []column
}

var schemas = map[Kind]*schema{
	KindSchools: {sheet: "学校", columns: []column{
		{name: "code", zh: "学校代码", aliases: []string{"school_code", "学校编码", "代码"}, required: true,
			example: []string{"S001", "S002"}},
		{name: "name", zh: "学校名称", aliases: []string{"school_name", "学校", "名称"}, required: true,
			example: []string{"第一实验小学", "城南中学"}},
		{name: "kind", zh: "学段", aliases: []string{"type", "stage", "学校类型", "类型"}, required: true,
			example: []string{"小学", "junior_secondary"}},
	}},
	KindTeachers: {sheet: "教师", columns: []column{
		{name: "school_code", zh: "学校代码", aliases: []string{"school", "学校编码"}, required: true,
			example: []string{"S001", "S001"}},
		{name: "staff_no", zh: "工号", aliases: []string{"staff_number", "staff_id", "教工号", "职工号"}, required: true,
			example: []string{"T0001", "T0002"}},
		{name: "name", zh: "姓名", aliases: []string{"teacher_name", "教师姓名"}, required: true,
			example: []string{"王芳", "李明"}},
		{name: "subjects", zh: "学科", aliases: []string{"subject", "任教学科"},
			example: []string{"数学", "数学"}},
		{name: "grades", zh: "年级", aliases: []string{"grade", "任教年级"},
			example: []string{"1;2", "七年级、初二"}},
		{name: "trainee", zh: "见习教师", aliases: []string{"见习", "是否见习", "是否见习教师"},
			example: []string{"否", "是"}},
	}},
	KindStudents: {sheet: "学生", columns: []column{
		{name: "school_code", zh: "学校代码", aliases: []string{"school", "学校编码"}, required: true,
			example: []string{"S001", "S001"}},
		{name: "student_no", zh: "学号", aliases: []string{"student_number", "student_id"}, required: true,
			example: []string{"20240001", "20240002"}},
		{name: "name", zh: "姓名", aliases: []string{"student_name", "学生姓名"}, required: true,
			example: []string{"张小明", "陈静"}},
		{name: "grade", zh: "年级", required: true,
			example: []string{"3", "三年级"}},
		{name: "class", zh: "班级", aliases: []string{"class_name"},
			example: []string{"2班", "2班"}},
	}},
	KindKnowledgePoints: {sheet: "知识点", columns: []column{
		{name: "subject", zh: "学科", aliases: []string{"subject_code"}, required: true,
			example: []string{"数学", "数学"}},
		{name: "grade", zh: "年级", required: true,
			example: []string{"7", "7"}},
		{name: "code", zh: "编码", aliases: []string{"知识点编码", "代码"}, required: true,
			example: []string{"M7-01", "M7-01-01"}},
		{name: "parent_code", zh: "上级编码", aliases: []string{"parent", "父编码", "上级知识点编码"},
			example: []string{"", "M7-01"}},
		{name: "name", zh: "名称", aliases: []string{"知识点", "知识点名称"}, required: true,
			example: []string{"有理数", "正数和负数"}},
		{name: "sort", zh: "排序", aliases: []string{"order", "序号"},
			example: []string{"1", "1"}},
	}},
}

// header is the template's label of a column: Chinese, then the canonical
// name in parentheses.
func (c column) header() string { return c.zh + "(" + c.name + ")" }

// match returns the index of the column a header cell names, or -1.
// Headers match case-insensitively, ignoring width (全角), surrounding
// space, a trailing "*" or ":" and the difference between " ", "-" and "_";
// "学号(student_no)" matches by either part.
func (s *schema) match(h string) int {
	h = normHeader(h)
	if h == "" {
		return -1
	}
	cands := []string{h}
	if open := strings.IndexByte(h, '('); open > 0 && strings.HasSuffix(h, ")") {
		cands = append(cands, normHeader(h[:open]), normHeader(h[open+1:len(h)-1]))
	}
	for _, cand := range cands {
		for i, c := range s.columns {
			if cand == c.name || cand == c.zh {
				return i
			}
			for _, a := range c.aliases {
				if cand == a {
					return i
				}
			}
		}
	}
	return -1
}

func normHeader(h string) string {
	h = strings.ToLower(width.Fold.String(cleanCell(h)))
	h = strings.TrimRight(h, "*:： ")
	h = strings.Join(strings.FieldsFunc(h, func(r rune) bool { return r == ' ' || r == '-' || r == '_' }), "_")
	return h
}

// cleanCell trims white space (including the ideographic space), drops
// the invisible characters that copying from web pages and Word leaves in,
// and takes off the quote SafeCell puts before a formula's first character.
func cleanCell(s string) string {
	if strings.ContainsAny(s, "\u200b\u200c\u200d\u2060\ufeff") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
				return -1
			}
			return r
		}, s)
	}
	s = strings.TrimSpace(s)
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStarts, rune(s[1])) {
		s = s[1:]
	}
	return s
}
