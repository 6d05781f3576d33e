package importer

import (
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"yunke/storage"
)

// headerSearch is how many non-blank rows at the top may precede the header
// (a title such as "2025 级学生名单" often does).
const headerSearch = 5

// parser validates the rows of one file.
type parser struct {
	kind     Kind
	sc       *schema
	subjects map[string]string // lower-case code, name or English name → code
	out      *Parsed

	header  int   // row number of the header; 0 until found
	skipped int   // non-blank rows seen before the header
	idx     []int // column → cell index; -1 when absent
	seen    map[string]int
	errs    []RowError
	more    int // errors past MaxErrors
	stopped bool
}

func newParser(kind Kind, sc *schema, subjects []storage.Subject) *parser {
	idx := map[string]string{}
	for _, s := range subjects {
		for _, k := range []string{s.Code, s.Name, s.NameEn} {
			if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
				if _, taken := idx[k]; !taken {
					idx[k] = s.Code
				}
			}
		}
	}
	return &parser{kind: kind, sc: sc, subjects: idx, out: &Parsed{Kind: kind}, seen: map[string]int{}}
}

// fail records a problem of a row, in column col (or the whole row, with
// the zero colName), told by message k and its arguments.
func (p *parser) fail(row int, col colName, k key, args ...any) {
	if len(p.errs) >= MaxErrors {
		p.more++
		return
	}
	p.errs = append(p.errs, rowErr(row, col, msg(k, args...)))
}

func (p *parser) finishErrors() []RowError {
	slices.SortStableFunc(p.errs, func(a, b RowError) int { return a.Row - b.Row })
	if p.more > 0 {
		p.errs = append(p.errs, rowErr(p.errs[len(p.errs)-1].Row, colName{}, msg(msgMoreErrors, p.more)))
	}
	return p.errs
}

// run reads the table; it returns only ErrExpands, every other problem
// being a row error.
func (p *parser) run(tab table) error {
	err := tab(p.row)
	var re *RowsError
	var fe *fileError
	switch {
	case errors.Is(err, ErrExpands):
		return err
	case errors.As(err, &re):
		p.errs = append(p.errs, re.Errors...)
	case errors.As(err, &fe):
		p.errs = append(p.errs, rowErr(max(p.header, 1), colName{}, fe.msg))
	case err != nil:
		p.fail(max(p.header, 1), colName{}, msgUnreadable, err)
	}
	if p.header == 0 && len(p.errs) == 0 {
		p.fail(1, colName{}, msgNoHeader, colList{p.sc})
	}
	if p.kind == KindKnowledgePoints {
		p.checkKnowledgePointLoops()
	}
	return nil
}

// row handles one spreadsheet row; it returns false to stop reading.
func (p *parser) row(row int, cells []string) bool {
	blank := true
	for i := range cells {
		cells[i] = cleanCell(cells[i])
		if cells[i] != "" {
			blank = false
		}
	}
	if blank {
		return true
	}
	if p.header == 0 {
		if p.tooLong(row, cells) {
			p.skipped++
			return p.skipped < headerSearch
		}
		return p.findHeader(row, cells)
	}
	p.out.Rows++
	if p.out.Rows > MaxRows {
		p.fail(row, colName{}, msgTooManyRows, MaxRows)
		return false
	}
	if p.tooLong(row, cells) {
		return true
	}
	get := func(col int) string {
		if i := p.idx[col]; i >= 0 && i < len(cells) {
			return cells[i]
		}
		return ""
	}
	switch p.kind {
	case KindSchools:
		p.school(row, get)
	case KindTeachers:
		p.teacher(row, get)
	case KindStudents:
		p.student(row, get)
	case KindKnowledgePoints:
		p.knowledgePoint(row, get)
	case KindClasses:
		p.class(row, get)
	}
	return true
}

// tooLong reports a row with a cell longer than MaxCellLen.
func (p *parser) tooLong(row int, cells []string) bool {
	for i, c := range cells {
		if len(c) <= MaxCellLen { // bytes: at least as many as characters
			continue
		}
		if n := utf8.RuneCountInString(c); n > MaxCellLen {
			col := colName{name: columnLetter(i)}
			if p.header != 0 {
				if c := slices.Index(p.idx, i); c >= 0 {
					col = p.col(c)
				}
			}
			p.fail(row, col, msgCellTooLong, MaxCellLen, n)
			return true
		}
	}
	return false
}

// findHeader takes the first non-blank row naming a known column as the
// header. It returns false when the file cannot be read on.
func (p *parser) findHeader(row int, cells []string) bool {
	idx := make([]int, len(p.sc.columns))
	for i := range idx {
		idx[i] = -1
	}
	known := false
	for ci, h := range cells {
		c := p.sc.match(h)
		if c < 0 {
			continue
		}
		known = true
		if idx[c] >= 0 {
			p.fail(row, p.col(c), msgColumnTwice, p.col(c), columnLetter(idx[c]), columnLetter(ci))
			continue
		}
		idx[c] = ci
	}
	if !known {
		p.skipped++
		if p.skipped < headerSearch {
			return true
		}
		p.fail(row, colName{}, msgNoHeaderNear, colList{p.sc})
		return false
	}
	p.header, p.idx = row, idx
	for i, c := range p.sc.columns {
		if c.required && idx[i] < 0 {
			p.fail(row, p.col(i), msgMissingColumn, colHeader(p.col(i)))
		}
	}
	// Without the header's columns, every row would only repeat the problem.
	return len(p.errs) == 0
}

// columnLetter names a 0-based column index as a spreadsheet does (A, B, … AA).
func columnLetter(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// Column indexes of each kind, in the order of its schema.
const (
	schCode, schName, schKind = 0, 1, 2
)
const (
	tchSchool, tchStaffNo, tchName, tchSubjects, tchGrades, tchTrainee = 0, 1, 2, 3, 4, 5
)
const (
	stuSchool, stuStudentNo, stuName, stuGrade, stuClass = 0, 1, 2, 3, 4
)
const (
	kpSubject, kpGrade, kpCode, kpParent, kpName, kpSort = 0, 1, 2, 3, 4, 5
)

// col is the i-th column of the kind, as messages name it.
func (p *parser) col(i int) colName { return colName{p.sc.columns[i].name, p.sc.columns[i].zh} }

func (p *parser) school(row int, get func(int) string) {
	before := len(p.errs) + p.more
	r := storage.SchoolRow{
		Code: p.code(row, schCode, get(schCode), true),
		Name: p.name(row, schName, get(schName), true),
		Kind: p.schoolKind(row, get(schKind)),
	}
	p.unique(row, schCode, r.Code, r.Code)
	if len(p.errs)+p.more == before {
		p.out.Schools = append(p.out.Schools, r)
		p.out.RowNumbers = append(p.out.RowNumbers, row)
	}
}

func (p *parser) teacher(row int, get func(int) string) {
	before := len(p.errs) + p.more
	r := storage.TeacherRow{
		SchoolCode:   p.code(row, tchSchool, get(tchSchool), true),
		StaffNo:      p.code(row, tchStaffNo, get(tchStaffNo), true),
		Name:         p.name(row, tchName, get(tchName), true),
		SubjectCodes: p.subjectList(row, tchSubjects, get(tchSubjects)),
		Grades:       p.gradeList(row, tchGrades, get(tchGrades)),
		Trainee:      p.trainee(row, get(tchTrainee)),
	}
	// Usernames are case-insensitive, and the staff number is the username.
	p.unique(row, tchStaffNo, strings.ToLower(r.StaffNo), r.StaffNo)
	if len(p.errs)+p.more == before {
		p.out.Teachers = append(p.out.Teachers, r)
		p.out.RowNumbers = append(p.out.RowNumbers, row)
	}
}

func (p *parser) student(row int, get func(int) string) {
	before := len(p.errs) + p.more
	r := storage.StudentRow{
		SchoolCode: p.code(row, stuSchool, get(stuSchool), true),
		StudentNo:  p.code(row, stuStudentNo, get(stuStudentNo), true),
		Name:       p.name(row, stuName, get(stuName), true),
		Grade:      p.grade(row, stuGrade, get(stuGrade), true),
		Class:      p.text(row, stuClass, get(stuClass), maxCodeLen),
	}
	p.unique(row, stuStudentNo, strings.ToLower(r.StudentNo), r.StudentNo)
	if len(p.errs)+p.more == before {
		p.out.Students = append(p.out.Students, r)
		p.out.RowNumbers = append(p.out.RowNumbers, row)
	}
}

func (p *parser) knowledgePoint(row int, get func(int) string) {
	before := len(p.errs) + p.more
	r := storage.KnowledgePointRow{
		SubjectCode: p.subject(row, kpSubject, get(kpSubject)),
		Grade:       p.grade(row, kpGrade, get(kpGrade), true),
		Code:        p.code(row, kpCode, get(kpCode), true),
		ParentCode:  p.code(row, kpParent, get(kpParent), false),
		Name:        p.name(row, kpName, get(kpName), true),
		Sort:        p.sort(row, get(kpSort)),
	}
	if r.ParentCode != "" && r.ParentCode == r.Code {
		p.fail(row, p.col(kpParent), msgOwnParent, p.col(kpParent), shown(r.ParentCode))
	}
	if r.SubjectCode != "" && r.Code != "" {
		// Codes are unique within a subject.
		p.unique(row, kpCode, r.SubjectCode+"\x00"+r.Code, r.Code)
	}
	if len(p.errs)+p.more == before {
		p.out.KnowledgePoints = append(p.out.KnowledgePoints, r)
		p.out.RowNumbers = append(p.out.RowNumbers, row)
	}
}

// unique reports a key already seen on an earlier row.
func (p *parser) unique(row, col int, key, value string) {
	if key == "" {
		return
	}
	if first, dup := p.seen[key]; dup {
		p.fail(row, p.col(col), msgDuplicate, p.col(col), shown(value), first)
		return
	}
	p.seen[key] = row
}

// checkKnowledgePointLoops reports parents that lead back to their child
// within the file (a parent outside the file is the store's to check).
func (p *parser) checkKnowledgePointLoops() {
	type key struct{ subject, code string }
	at := make(map[key]int, len(p.out.KnowledgePoints))
	for i, kp := range p.out.KnowledgePoints {
		at[key{kp.SubjectCode, kp.Code}] = i
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(p.out.KnowledgePoints))
	for start := range p.out.KnowledgePoints {
		var path []int
		i := start
		for state[i] == unseen {
			state[i] = onPath
			path = append(path, i)
			kp := p.out.KnowledgePoints[i]
			next, ok := at[key{kp.SubjectCode, kp.ParentCode}]
			if kp.ParentCode == "" || !ok {
				break
			}
			i = next
		}
		if state[i] == onPath && slices.Contains(path, i) && len(path) > 0 {
			kp := p.out.KnowledgePoints[path[len(path)-1]]
			if parent, ok := at[key{kp.SubjectCode, kp.ParentCode}]; ok && parent == i {
				loop := path[slices.Index(path, i):]
				codes := make([]string, 0, len(loop)+1)
				last := 0
				for _, j := range loop {
					codes = append(codes, p.out.KnowledgePoints[j].Code)
					last = max(last, p.out.RowNumbers[j])
				}
				codes = append(codes, codes[0])
				p.fail(last, p.col(kpParent), msgParentLoop, strings.Join(codes, " → "))
			}
		}
		for _, j := range path {
			state[j] = done
		}
	}
}
