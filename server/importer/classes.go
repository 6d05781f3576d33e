package importer

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/width"

	"yunke/storage"
)

// KindClasses is a timetable of scheduled classes, one class (or weekly
// series) per row. It is not one of Kinds: the directory's import does
// not take it; the classes domain does (POST /classes/import).
const KindClasses Kind = "classes"

// ClassRow is one imported class, its people and places still by code:
// the classes domain resolves them and checks the caller's scope.
type ClassRow struct {
	SchoolCode      string // empty: a district-wide class
	Title           string
	SubjectCode     string
	Grade           int
	TeacherStaffNo  string
	AssistantNos    []string
	Audience        storage.ClassAudience
	Groups          []string // school classes, for storage.AudienceClasses
	StartsAt        time.Time
	Minutes         int
	Weeks           int
	Premium         bool
	Recording       bool
	KnowledgePoints []string // codes of the subject's knowledge points
}

// Limits of an imported class.
const (
	maxClassTitle   = storage.MaxClassTitle
	maxClassMinutes = storage.MaxClassMinutes
	// MaxClassWeeks is the longest weekly series one row may schedule.
	MaxClassWeeks = 30
)

func init() {
	schemas[KindClasses] = &schema{sheet: "课程表", columns: []column{
		{name: "school_code", zh: "学校代码", aliases: []string{"school", "学校编码"},
			example: []string{"S001", ""}},
		{name: "title", zh: "课程名称", aliases: []string{"name", "课程", "课题", "标题"}, required: true,
			example: []string{"分数的加法", "函数的图像（精品课）"}},
		{name: "subject", zh: "学科", aliases: []string{"subject_code"}, required: true,
			example: []string{"数学", "数学"}},
		{name: "grade", zh: "年级", required: true,
			example: []string{"3", "初二"}},
		{name: "teacher", zh: "教师工号", aliases: []string{"teacher_staff_no", "staff_no", "工号", "授课教师工号"}, required: true,
			example: []string{"T0001", "T0002"}},
		{name: "assistants", zh: "助教工号", aliases: []string{"assistant", "助教"},
			example: []string{"T0003", ""}},
		{name: "audience", zh: "上课对象", aliases: []string{"对象", "班级"},
			example: []string{"1班;2班", "全区"}},
		{name: "starts_at", zh: "开始时间", aliases: []string{"start", "上课时间", "时间"}, required: true,
			example: []string{"2026-03-02 08:00", "2026-03-05 14:30"}},
		{name: "minutes", zh: "时长", aliases: []string{"planned_minutes", "时长（分钟）", "分钟"}, required: true,
			example: []string{"45", "40"}},
		{name: "weeks", zh: "周数", aliases: []string{"repeat_weeks", "重复周数"},
			example: []string{"18", "1"}},
		{name: "premium", zh: "精品", aliases: []string{"精品课", "是否精品"},
			example: []string{"否", "是"}},
		{name: "recording", zh: "录制", aliases: []string{"是否录制"},
			example: []string{"是", "是"}},
		{name: "knowledge_points", zh: "知识点", aliases: []string{"知识点编码", "knowledge_point_codes"},
			example: []string{"M3-05", ""}},
	}}
}

// Column indexes of classes, in the order of its schema.
const (
	clsSchool, clsTitle, clsSubject, clsGrade, clsTeacher, clsAssistants, clsAudience, clsStart, clsMinutes, clsWeeks,
	clsPremium, clsRecording, clsPoints = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
)

var audiences = map[string]storage.ClassAudience{
	"": storage.AudienceGrade, "grade": storage.AudienceGrade, "全年级": storage.AudienceGrade, "年级": storage.AudienceGrade,
	"school": storage.AudienceSchool, "全校": storage.AudienceSchool,
	"district": storage.AudienceDistrict, "全区": storage.AudienceDistrict, "全区县": storage.AudienceDistrict,
}

// startLayouts are the ways a start time may be written (Asia/Shanghai).
var startLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006/1/2 15:04", "2006/01/02 15:04", "2006-1-2 15:04",
	"2006年1月2日 15:04", "2006年1月2日15:04", "2006-01-02T15:04"}

func parseStart(v string) (time.Time, bool) {
	v = strings.Join(strings.Fields(width.Fold.String(v)), " ")
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	for _, l := range startLayouts {
		if t, err := time.ParseInLocation(l, v, storage.Zone); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// yesNo reads a 是/否 cell (empty: def).
func (p *parser) yesNo(row, col int, v string, def bool) bool {
	if v == "" {
		return def
	}
	t, ok := trainees[strings.ToLower(width.Fold.String(v))]
	if !ok {
		p.fail(row, p.col(col), msgTrainee, p.col(col), shown(v))
	}
	return t
}

// number reads a whole number from lo to hi (empty: def, or required).
func (p *parser) number(row, col int, v string, lo, hi, def int, required bool) int {
	name := p.col(col)
	if v == "" {
		if required {
			p.fail(row, name, msgRequired, name)
		}
		return def
	}
	n, err := strconv.Atoi(width.Fold.String(v))
	if err != nil || n < lo || n > hi {
		p.fail(row, name, msgRange, name, lo, hi, shown(v))
		return def
	}
	return n
}

// codes reads a list of codes separated like splitList.
func (p *parser) codes(row, col int, v string) []string {
	var out []string
	for _, c := range splitList(v) {
		if c = p.code(row, col, c, false); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func (p *parser) class(row int, get func(int) string) {
	before := len(p.errs) + p.more
	r := ClassRow{
		SchoolCode:      p.code(row, clsSchool, get(clsSchool), false),
		Title:           p.text(row, clsTitle, get(clsTitle), maxClassTitle),
		SubjectCode:     p.subject(row, clsSubject, get(clsSubject)),
		Grade:           p.grade(row, clsGrade, get(clsGrade), true),
		TeacherStaffNo:  p.code(row, clsTeacher, get(clsTeacher), true),
		AssistantNos:    p.codes(row, clsAssistants, get(clsAssistants)),
		Minutes:         p.number(row, clsMinutes, get(clsMinutes), 1, maxClassMinutes, 0, true),
		Weeks:           p.number(row, clsWeeks, get(clsWeeks), 1, MaxClassWeeks, 1, false),
		Premium:         p.yesNo(row, clsPremium, get(clsPremium), false),
		Recording:       p.yesNo(row, clsRecording, get(clsRecording), true),
		KnowledgePoints: p.codes(row, clsPoints, get(clsPoints)),
	}
	if get(clsTitle) == "" {
		p.fail(row, p.col(clsTitle), msgRequired, p.col(clsTitle))
	}
	aud := strings.TrimSpace(width.Fold.String(get(clsAudience)))
	if a, ok := audiences[strings.ToLower(aud)]; ok {
		r.Audience = a
	} else {
		r.Audience = storage.AudienceClasses
		for _, g := range splitList(get(clsAudience)) {
			if g = p.text(row, clsAudience, g, maxCodeLen); g != "" {
				r.Groups = append(r.Groups, g)
			}
		}
	}
	switch v := get(clsStart); {
	case v == "":
		p.fail(row, p.col(clsStart), msgRequired, p.col(clsStart))
	default:
		t, ok := parseStart(v)
		if !ok {
			p.fail(row, p.col(clsStart), msgStart, p.col(clsStart), shown(v))
		}
		r.StartsAt = t
	}
	if len(p.errs)+p.more == before {
		p.out.Classes = append(p.out.Classes, r)
		p.out.RowNumbers = append(p.out.RowNumbers, row)
	}
}
