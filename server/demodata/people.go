package demodata

import (
	"fmt"
	"math"
	"slices"
	"time"

	"yunke/storage"
)

// Names of the district and its schools.
const districtName = "云溪区（示范）"

var kindNames = map[storage.SchoolKind]string{
	storage.KindPrimary:           "小学",
	storage.KindJuniorSecondary:   "初级中学",
	storage.KindSeniorSecondary:   "高级中学",
	storage.KindCompleteSecondary: "中学",
	storage.KindNineYear:          "九年一贯制学校",
	storage.KindKindergarten:      "幼儿园",
}

var kindGrades = map[storage.SchoolKind][]int{
	storage.KindPrimary:           {1, 2, 3, 4, 5, 6},
	storage.KindJuniorSecondary:   {7, 8, 9},
	storage.KindSeniorSecondary:   {10, 11, 12},
	storage.KindCompleteSecondary: {7, 8, 9, 10, 11, 12},
	storage.KindNineYear:          {1, 2, 3, 4, 5, 6, 7, 8, 9},
	storage.KindKindergarten:      {1}, // classes need a grade; kindergartens use 1
}

var placeNames = []string{"实验", "东城", "西城", "南湖", "北山", "青石", "柳岸", "桃源", "红星", "育才", "明德", "启智",
	"新华", "光明", "朝阳", "龙泉", "清河", "白沙", "金桥", "石门"}

var familyNames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
var givenNames = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红梅鑫波斌宇浩凯健俊帆琳晨欣怡子涵")

// places makes the district and its schools, of uneven sizes: one large
// school (about 209 teachers), two with two teachers, a kindergarten with
// one, the others drawn from a skewed distribution.
func (g *gen) places() error {
	b := g.b
	id, err := b.NextID("districts")
	if err != nil {
		return err
	}
	g.district = storage.DistrictID(id)
	code := fmt.Sprintf("%s-%d", storage.DemoDistrictPrefix, g.p.Seed)
	if err := b.Add("districts", id, code, districtName, ms(g.created)); err != nil {
		return err
	}
	if err := g.activity(storage.Activity{At: g.created, Action: "district.create", DistrictID: g.district,
		Subject: fmt.Sprintf("district:%d", id), Detail: b.Detail(map[string]any{"code": code})}); err != nil {
		return err
	}
	nSchools := g.p.n(FullPrimarySecondary, 4)
	nKinder := g.p.n(FullKindergartens, 2)
	g.sum.Schools, g.sum.Kindergartens = nSchools, nKinder
	kinds := []storage.SchoolKind{storage.KindPrimary, storage.KindPrimary, storage.KindPrimary, storage.KindPrimary,
		storage.KindJuniorSecondary, storage.KindJuniorSecondary, storage.KindSeniorSecondary,
		storage.KindCompleteSecondary, storage.KindNineYear}
	for i := range nSchools + nKinder {
		kind := storage.KindKindergarten
		if i < nSchools {
			kind = kinds[i%len(kinds)]
			if i == 0 {
				kind = storage.KindPrimary
			}
		}
		sid, err := b.NextID("schools")
		if err != nil {
			return err
		}
		sc := &school{id: storage.SchoolID(sid), kind: kind, grades: kindGrades[kind], byGrade: map[int][]*student{},
			code: fmt.Sprintf("DEMO%d-%03d", g.p.Seed, i+1)}
		name := fmt.Sprintf("%s第%d%s", placeNames[i%len(placeNames)], i/len(placeNames)+1, kindNames[kind])
		if i == 0 {
			name = "云溪实验" + kindNames[kind]
		}
		if err := b.Add("schools", sid, int64(g.district), sc.code, name, string(kind), true,
			b.SchoolSearch(sc.code, name), int64(1), ms(g.created), ms(g.created)); err != nil {
			return err
		}
		if err := g.activity(storage.Activity{At: g.created, Action: "school.create", DistrictID: g.district,
			SchoolID: sc.id, Subject: fmt.Sprintf("school:%d", sid), Detail: b.Detail(map[string]any{"code": sc.code})}); err != nil {
			return err
		}
		g.schools = append(g.schools, sc)
	}
	return nil
}

func lower(s string) string {
	out := []rune(s)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}

func (g *gen) personName(i int) string {
	f := familyNames[i%len(familyNames)]
	a := givenNames[(i/len(familyNames))%len(givenNames)]
	c := givenNames[(i*7+3)%len(givenNames)]
	if i%3 == 0 {
		return string([]rune{f, a})
	}
	return string([]rune{f, a, c})
}

// teacherCounts splits the teachers over the schools.
func (g *gen) teacherCounts(total int) []int {
	r := g.rng(2)
	nSchools := g.sum.Schools
	counts := make([]int, len(g.schools))
	fixed := map[int]int{0: max(2, int(math.Round(209*g.p.Scale))), 1: 2, 2: 2, nSchools: 1}
	rest := total
	for i, n := range fixed {
		counts[i] = n
		rest -= n
	}
	weights := make([]float64, len(g.schools))
	sum := 0.0
	for i := range g.schools {
		if _, ok := fixed[i]; ok {
			continue
		}
		w := lognormal(r, 1, 0.7)
		if i >= nSchools {
			w *= 0.25 // kindergartens are small
		}
		weights[i] = w
		sum += w
	}
	left := rest
	for i, w := range weights {
		if w == 0 {
			continue
		}
		counts[i] = max(1, int(float64(rest)*w/sum))
		left -= counts[i]
	}
	// Hand out what rounding left (or take back what it gave) one by one.
	for i := 0; left != 0; i = (i + 1) % len(counts) {
		if _, ok := fixed[i]; ok || weights[i] == 0 {
			continue
		}
		switch {
		case left > 0:
			counts[i]++
			left--
		case counts[i] > 1:
			counts[i]--
			left++
		}
	}
	return counts
}

// account writes a user with roles, subjects and grades and its
// "user.create" row, as an import does.
func (g *gen) account(in storage.UserInput) (storage.UserID, error) {
	b := g.b
	id, err := b.NextID("users")
	if err != nil {
		return 0, err
	}
	var school any
	if in.SchoolID != 0 {
		school = int64(in.SchoolID)
	}
	at := ms(g.created)
	if err := b.Add("users", id, in.Username, lower(in.Username), in.Name, int64(in.DistrictID), school, true, false,
		g.p.PasswordHash, in.StudentNo, in.StaffNo, in.Grade, in.Class, in.Trainee, in.ExpertScope.District,
		b.UserSearch(in), int64(1), at, at); err != nil {
		return 0, err
	}
	for _, x := range in.Roles {
		if err := b.Add("user_roles", id, string(x)); err != nil {
			return 0, err
		}
	}
	for _, x := range in.Subjects {
		if err := b.Add("user_subjects", id, int64(x)); err != nil {
			return 0, err
		}
	}
	for _, x := range in.Grades {
		if err := b.Add("user_grades", id, x); err != nil {
			return 0, err
		}
	}
	return storage.UserID(id), g.activity(storage.Activity{At: g.created, ActorID: g.admin, Action: "user.create",
		DistrictID: in.DistrictID, SchoolID: in.SchoolID, Subject: fmt.Sprintf("user:%d", id),
		Detail: b.Detail(map[string]any{"username": in.Username, "roles": in.Roles, "import": true})})
}

// people makes the administrators, experts, teachers (with the trainees)
// and students.
func (g *gen) people() error {
	r := g.rng(3)
	var err error
	if g.admin, err = g.account(storage.UserInput{Username: DistrictAdmin, Name: "区管理员（示范）", DistrictID: g.district,
		Roles: []storage.Role{storage.RoleDistrictAdmin}, StaffNo: fmt.Sprintf("DEMO%d-A1", g.p.Seed)}); err != nil {
		return err
	}
	big := g.schools[0]
	if _, err := g.account(storage.UserInput{Username: SchoolAdmin, Name: "校管理员（示范）", DistrictID: g.district,
		SchoolID: big.id, Roles: []storage.Role{storage.RoleSchoolAdmin}, StaffNo: fmt.Sprintf("DEMO%d-A2", g.p.Seed)}); err != nil {
		return err
	}
	nExperts := g.p.n(FullExperts, 2)
	for i := range nExperts {
		name := ExpertUser
		if i > 0 {
			name = fmt.Sprintf("demo-e%03d", i+1)
		}
		id, err := g.account(storage.UserInput{Username: name, Name: g.personName(i*13+5) + "（研训员）", DistrictID: g.district,
			Roles: []storage.Role{storage.RoleExpert}, StaffNo: fmt.Sprintf("DEMO%d-E%03d", g.p.Seed, i+1),
			ExpertScope: storage.ExpertScope{District: true}})
		if err != nil {
			return err
		}
		g.experts = append(g.experts, id)
	}
	g.sum.Experts = nExperts

	nTeachers := g.p.n(FullTeachers, len(g.schools)+6)
	counts := g.teacherCounts(nTeachers)
	g.bySubject = map[storage.SubjectID][]*teacher{}
	n := 0
	for si, sc := range g.schools {
		for k := range counts[si] {
			n++
			t := &teacher{school: sc, subject: g.subjects[(k+si)%len(g.subjects)]}
			if k%4 == 0 {
				t.subject = g.subjects[k%2] // Chinese and mathematics have the most teachers
			}
			if sc.kind == storage.KindKindergarten {
				t.subject = g.subjects[0]
			}
			lo := r.IntN(len(sc.grades))
			t.grades = sc.grades[lo:min(len(sc.grades), lo+1+r.IntN(2))]
			sc.teachers = append(sc.teachers, t)
			g.teachers = append(g.teachers, t)
			g.bySubject[t.subject] = append(g.bySubject[t.subject], t)
		}
	}
	g.sum.Teachers = n
	g.planLessons()
	for i, t := range g.teachers {
		in := storage.UserInput{Username: fmt.Sprintf("demo-t%05d", i+1), Name: g.personName(i), DistrictID: g.district,
			SchoolID: t.school.id, Roles: []storage.Role{storage.RoleTeacher}, StaffNo: fmt.Sprintf("DEMO%d-T%05d", g.p.Seed, i+1),
			Subjects: []storage.SubjectID{t.subject}, Grades: slices.Clone(t.grades), Trainee: t.trainee}
		if t.id, err = g.account(in); err != nil {
			return err
		}
	}

	nStudents := g.p.n(FullStudents, 30)
	var primSec []*school
	weights := []float64{}
	sum := 0.0
	for _, sc := range g.schools {
		if sc.kind != storage.KindKindergarten {
			primSec = append(primSec, sc)
			sum += float64(len(sc.teachers))
			weights = append(weights, sum)
		}
	}
	for i := range nStudents {
		sc := primSec[pick(r, weights)]
		if i < len(primSec) {
			sc = primSec[i] // every school has a student
		}
		s := &student{school: sc, grade: sc.grades[r.IntN(len(sc.grades))]}
		in := storage.UserInput{Username: fmt.Sprintf("demo-s%05d", i+1), Name: g.personName(i*5 + 1), DistrictID: g.district,
			SchoolID: sc.id, Roles: []storage.Role{storage.RoleStudent}, StudentNo: fmt.Sprintf("DEMO%d-S%05d", g.p.Seed, i+1),
			Grade: s.grade, Class: fmt.Sprintf("%d班", 1+r.IntN(8))}
		if s.id, err = g.account(in); err != nil {
			return err
		}
		sc.students = append(sc.students, s)
		sc.byGrade[s.grade] = append(sc.byGrade[s.grade], s)
		g.students = append(g.students, s)
	}
	g.sum.Students = nStudents
	return nil
}

// planLessons decides how many lessons each school records in each
// half-year and chooses the trainee teachers, each in a school with a
// lesson left for them.
func (g *gen) planLessons() {
	r := g.rng(4)
	perHalf := g.p.n(FullLessonsHalfYear, 4)
	nSchools := g.sum.Schools
	fixed := map[int]int{0: max(1, int(math.Round(367*g.p.Scale))), 1: 2, 2: 2, nSchools: 1}
	for half := range 2 {
		rest := perHalf
		for i, n := range fixed {
			g.schools[i].lessons[half] = n
			rest -= n
		}
		var weights []float64
		var idx []int
		sum := 0.0
		for i, sc := range g.schools {
			if _, ok := fixed[i]; ok {
				continue
			}
			// Lessons follow the staff, unevenly: some schools record
			// eagerly, some hardly at all.
			sum += float64(len(sc.teachers)) * lognormal(r, 1, 0.9)
			weights = append(weights, sum)
			idx = append(idx, i)
		}
		for range max(rest, 0) {
			g.schools[idx[pick(r, weights)]].lessons[half]++
		}
	}
	// Trainees: in primary and secondary schools other than the tiny ones,
	// at most as many in a school as it records lessons in the year.
	nTrainees := g.p.or(g.p.Trainees, FullTrainees, 1)
	room := map[*school]int{}
	regular := map[*school]int{} // teachers who are not trainees: each school keeps one
	var pool []*teacher
	for i, sc := range g.schools {
		if _, ok := fixed[i]; (ok && i != 0) || sc.kind == storage.KindKindergarten {
			continue
		}
		room[sc] = sc.lessons[0] + sc.lessons[1]
		regular[sc] = len(sc.teachers)
		pool = append(pool, sc.teachers...)
	}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	for _, t := range pool {
		if g.sum.Trainees == nTrainees {
			break
		}
		if room[t.school] > 0 && regular[t.school] > 1 {
			room[t.school]--
			regular[t.school]--
			t.trainee = true
			g.sum.Trainees++
		}
	}
}

// knowledge makes a few knowledge points per subject.
func (g *gen) knowledge() error {
	g.points = map[storage.SubjectID][]storage.KnowledgePointID{}
	for _, sub := range g.subjects {
		for k := range 12 {
			id, err := g.b.NextID("knowledge_points")
			if err != nil {
				return err
			}
			if err := g.b.Add("knowledge_points", id, int64(sub), 0, fmt.Sprintf("demo%d-%02d", g.p.Seed, k+1),
				fmt.Sprintf("%s %d", topicNames[k%len(topicNames)], k+1), k+1); err != nil {
				return err
			}
			g.points[sub] = append(g.points[sub], storage.KnowledgePointID(id))
			g.sum.KnowledgePoints++
		}
	}
	return nil
}

var topicNames = []string{"基本概念", "计算方法", "阅读理解", "实验探究", "图像分析", "综合应用"}

// targets sets each school's yearly targets, as an administrator does.
func (g *gen) targets() error {
	at := g.created.Add(24 * time.Hour)
	for _, sc := range g.schools {
		lessons := int(math.Ceil(float64(sc.lessons[0]+sc.lessons[1]) * 1.05))
		teachers := max(1, len(sc.teachers)*3/10)
		if err := g.b.Add("school_targets", int64(sc.id), g.p.Year, lessons, teachers, 100, int64(1), ms(at)); err != nil {
			return err
		}
		if err := g.activity(storage.Activity{At: at, ActorID: g.admin, Action: "target.set", DistrictID: g.district,
			SchoolID: sc.id, Subject: fmt.Sprintf("target:%d:%d", sc.id, g.p.Year),
			Detail: g.b.Detail(map[string]any{"year": g.p.Year, "version": 1})}); err != nil {
			return err
		}
		g.sum.Targets++
	}
	return nil
}
