package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"yunke/server/importer"
	"yunke/storage"
)

func TestImportTemplates(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	var subjects struct{ Items []storage.Subject }
	admin.must(200, "GET", "/api/v1/subjects", nil, &subjects)
	for _, kind := range importer.Kinds {
		for _, format := range []string{"csv", "xlsx"} {
			r := admin.must(200, "GET", "/api/v1/import/template?kind="+string(kind)+"&format="+format, nil, nil)
			if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "."+format) {
				t.Errorf("%s %s: Content-Disposition %q", kind, format, cd)
			}
			p, err := importer.Parse(bytes.NewReader(r.body), "template."+format, kind, subjects.Items)
			if err != nil {
				t.Errorf("%s %s template does not parse back: %v", kind, format, err)
			} else if p.Rows == 0 {
				t.Errorf("%s %s template has no example rows", kind, format)
			}
		}
	}
	if r := admin.send("GET", "/api/v1/import/template?kind=pets", nil); r.status != 400 || r.errFields()["kind"] == nil {
		t.Errorf("unknown kind: %v", r)
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	da, sa := fx.users["district_admin"], fx.users["school_admin"]
	countSchools := func() int {
		var l struct{ Total int }
		fx.users["system_admin"].must(200, "GET", "/api/v1/schools", nil, &l)
		return l.Total
	}
	type answer struct {
		Kind   string
		Rows   int
		DryRun bool `json:"dry_run"`
		Result storage.ImportResult
	}
	schools := []byte("学校代码,学校名称,学段\nN1,新一小,小学\nN2,新二中,初中\n")
	form := func(kind string, file []byte, extra ...string) *multipartBody {
		f := map[string]string{"kind": kind}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i]] = extra[i+1]
		}
		return multipartForm(t, f, "file.csv", file)
	}

	before := countSchools()
	var a answer
	da.must(200, "POST", "/api/v1/import", form("schools", schools, "dry_run", "true"), &a)
	if !a.DryRun || a.Rows != 2 || countSchools() != before || a.Result.Schools.Created != 2 {
		t.Fatalf("dry run: %+v, schools %d → %d", a, before, countSchools())
	}
	bad := []byte("code,name,kind\nN3,好学校,小学\nN4,坏学校,大学\n")
	r := da.send("POST", "/api/v1/import", form("schools", bad))
	if r.status != 422 || r.errCode() != "invalid_rows" || !strings.Contains(string(r.body), `"row":3`) {
		t.Fatalf("bad row: %v, want 422 invalid_rows naming row 3", r)
	}
	if countSchools() != before {
		t.Fatal("a file with a bad row changed something")
	}
	da.must(200, "POST", "/api/v1/import", form("schools", schools), &a)
	if a.Result.Schools.Created != 2 || countSchools() != before+2 {
		t.Fatalf("import: %+v", a)
	}
	da.must(200, "POST", "/api/v1/import", form("schools", schools), &a)
	if a.Result.Schools != (storage.ImportCounts{Unchanged: 2}) {
		t.Fatalf("re-import: %+v, want all unchanged", a.Result)
	}

	// A school admin imports teachers and students of their own school only.
	teachers := []byte("school_code,staff_no,name,subjects,grades,trainee\nA,T100,王老师,fixture,3;4,否\nA,T101,李老师,,,是\n")
	if r := sa.send("POST", "/api/v1/import", form("teachers", teachers)); r.status != 400 || r.errFields()["initial_password"] == nil {
		t.Fatalf("no initial password: %v", r)
	}
	if r := sa.send("POST", "/api/v1/import", form("schools", schools)); r.status != 403 {
		t.Fatalf("school admin imports schools: %v, want 403", r)
	}
	other := []byte("school_code,staff_no,name\nA,T200,甲\nB,T201,乙\n")
	if r := sa.send("POST", "/api/v1/import", form("teachers", other, "initial_password", "welcome-123")); r.status != 422 || !strings.Contains(string(r.body), `"row":3`) {
		t.Fatalf("teacher of school B: %v, want 422 naming row 3", r)
	}
	sa.must(200, "POST", "/api/v1/import", form("teachers", teachers, "initial_password", "welcome-123"), &a)
	if a.Result.Teachers.Created != 2 {
		t.Fatalf("teachers: %+v", a)
	}
	sa.must(200, "POST", "/api/v1/import", form("teachers", teachers, "initial_password", "welcome-123"), &a)
	if a.Result.Teachers != (storage.ImportCounts{Unchanged: 2}) {
		t.Fatalf("teachers again: %+v", a.Result)
	}
	// An imported teacher signs in with the initial password and must change it.
	tc := signedIn(t, srv, "T100", "welcome-123")
	if r := tc.send("GET", "/api/v1/subjects", nil); r.errCode() != "password_change_required" {
		t.Fatalf("imported teacher: %v, want password_change_required", r)
	}

	// Size limit.
	huge := bytes.Repeat([]byte("x"), 10<<20+1)
	if r := da.send("POST", "/api/v1/import", form("schools", huge)); r.status != 413 || r.errCode() != "too_large" {
		t.Fatalf("11 MiB file: %v, want 413 too_large", r)
	}
	if r := da.send("POST", "/api/v1/import", `{"kind":"schools"}`); r.status != 400 {
		t.Fatalf("JSON instead of multipart: %v", r)
	}

	// Knowledge points (system admins only).
	kps := []byte("subject,grade,code,parent_code,name,sort\nfixture,3,F3-01,,数与代数,1\nfixture,3,F3-01-01,F3-01,整数,1\n")
	var counts storage.ImportCounts
	fx.users["system_admin"].must(200, "POST", "/api/v1/knowledge-points/import", multipartForm(t, nil, "kp.csv", kps), &counts)
	if counts.Created != 2 {
		t.Fatalf("knowledge points: %+v", counts)
	}
	var list struct{ Items []storage.KnowledgePoint }
	fx.users["teacher"].must(200, "GET", "/api/v1/knowledge-points?subject_id="+itoa(fx.subject)+"&grade=3", nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("knowledge points listed: %+v", list.Items)
	}
	if r := fx.users["system_admin"].send("POST", "/api/v1/knowledge-points/import", multipartForm(t, nil, "kp.csv", []byte("subject,grade,code,name\nnosuch,3,X,Y\n"))); r.status != 422 {
		t.Fatalf("unknown subject: %v, want 422", r)
	}
}

// importForm is a multipart import request of a CSV file and fields.
func importForm(t *testing.T, kind, csv string, fields ...string) *multipartBody {
	t.Helper()
	f := map[string]string{"kind": kind, "initial_password": "welcome-123"}
	for i := 0; i+1 < len(fields); i += 2 {
		f[fields[i]] = fields[i+1]
	}
	return multipartForm(t, f, "file.csv", []byte(csv))
}

// importErrors is the rows of a 422 invalid_rows answer.
func importErrors(t *testing.T, r reply) []importer.RowError {
	t.Helper()
	var e struct {
		Error struct {
			Code string
			Rows []importer.RowError
		}
	}
	if r.status != 422 || json.Unmarshal(r.body, &e) != nil || e.Error.Code != "invalid_rows" {
		t.Fatalf("%v, want 422 invalid_rows", r)
	}
	return e.Error.Rows
}

// createUser makes an account as the system admin and returns its id.
func createUser(t *testing.T, fx *fixture, body map[string]any) int64 {
	t.Helper()
	body["name"], body["password"] = "用户 "+body["username"].(string), "initial-password"
	var u map[string]any
	fx.users["system_admin"].must(201, "POST", "/api/v1/users", body, &u)
	return id(u)
}

// TestImportOutOfScopeUsers: a school admin's import matching a student
// or teacher of another school or district, or an account with roles they
// may not manage, is a row error that says the same in every case, dry
// run or not, and changes nobody. So the victim stays out of their reach.
func TestImportOutOfScopeUsers(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	sa, sys := fx.users["school_admin"], fx.users["system_admin"]
	studentC := createUser(t, fx, map[string]any{"username": "student.c", "roles": []string{"student"}, "school_id": fx.schoolC, "student_no": "S-C-1", "grade": 2})
	teacherB := createUser(t, fx, map[string]any{"username": "teacher.b", "roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-1"})
	da2 := createUser(t, fx, map[string]any{"username": "da.staff", "roles": []string{"district_admin"}, "district_id": fx.district, "staff_no": "T-DA-1"})
	snapshot := func() string {
		var out []string
		for _, id := range []int64{fx.studentB, studentC, teacherB, da2, fx.userIDs["teacher+school_admin"]} {
			r := sys.must(200, "GET", "/api/v1/users/"+itoa(id), nil, nil)
			out = append(out, string(r.body))
		}
		return strings.Join(out, "\n")
	}
	before := snapshot()

	messages := map[string]map[string]bool{} // by language
	for _, c := range []struct {
		name, kind, csv, number string
	}{
		{"student of school B", "students", "school_code,student_no,name,grade\nA,S-B-1,冒名,3\n", "S-B-1"},
		{"student of another district", "students", "school_code,student_no,name,grade\nA,S-C-1,冒名,3\n", "S-C-1"},
		{"teacher of school B", "teachers", "school_code,staff_no,name\nA,T-B-1,冒名\n", "T-B-1"},
		{"district admin", "teachers", "school_code,staff_no,name\nA,T-DA-1,冒名\n", "T-DA-1"},
		{"teacher and school admin of school A", "teachers", "school_code,staff_no,name\nA,T-A-2,冒名\n", "T-A-2"},
	} {
		for _, dry := range []string{"true", "false"} {
			for lang, want := range map[string]string{"en": "belongs to another school", "zh-CN": "属于其他学校"} {
				rows := importErrors(t, sa.send("POST", "/api/v1/import", importForm(t, c.kind, c.csv, "dry_run", dry), "Accept-Language", lang))
				if len(rows) != 1 || rows[0].Row != 2 || !strings.Contains(rows[0].Message, want) {
					t.Errorf("%s (dry run %s, %s): %v, want row 2: %s", c.name, dry, lang, rows, want)
					continue
				}
				msg := strings.NewReplacer(c.number, "#", "student_no", "number", "staff_no", "number", "学号", "number", "工号", "number").Replace(rows[0].Message)
				if messages[lang] == nil {
					messages[lang] = map[string]bool{}
				}
				messages[lang][msg] = true
			}
		}
	}
	for lang, m := range messages {
		if len(m) != 1 {
			t.Errorf("the answers in %s tell the cases apart: %v", lang, m)
		}
	}
	if len(messages) != 2 {
		t.Errorf("answers in %d languages: %v", len(messages), messages)
	}
	if after := snapshot(); after != before {
		t.Fatalf("refused imports changed accounts:\n%s\n%s", before, after)
	}
	// Nothing moved, so the school admin still cannot take the account over.
	if r := sa.send("POST", "/api/v1/users/"+itoa(fx.studentB)+"/password", map[string]any{"new_password": "taken-over-1"}); r.status != 403 {
		t.Errorf("school admin resets the password of school B's student: %v, want 403", r)
	}
	if r := newAPI(t, srv).signIn("student.b", "taken-over-1"); r.status == 200 {
		t.Error("signed in as school B's student with the school admin's password")
	}
	// Their own students they import as ever.
	var a struct{ Result storage.ImportResult }
	sa.must(200, "POST", "/api/v1/import", importForm(t, "students", "school_code,student_no,name,grade\nA,S-A-1,用户 student,3\n"), &a)
	if a.Result.Students.Created+a.Result.Students.Updated+a.Result.Students.Unchanged != 1 {
		t.Errorf("own student: %+v", a.Result)
	}
}

// TestImportMovesStudent: a district admin's import moves a student
// between two of their schools; the dry run shows it, and the move is
// logged as user.move.
func TestImportMovesStudent(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	da := fx.users["district_admin"]
	file := "school_code,student_no,name,grade\nA,S-B-1,乙,3\n"
	var a struct {
		DryRun bool `json:"dry_run"`
		Result storage.ImportResult
	}
	da.must(200, "POST", "/api/v1/import", importForm(t, "students", file, "dry_run", "true"), &a)
	if !a.DryRun || a.Result.Students != (storage.ImportCounts{Moved: 1}) {
		t.Fatalf("dry run: %+v", a)
	}
	var u storage.User
	da.must(200, "GET", "/api/v1/users/"+itoa(fx.studentB), nil, &u)
	if int64(u.SchoolID) != fx.schoolB {
		t.Fatalf("the dry run moved the student to %d", u.SchoolID)
	}
	da.must(200, "POST", "/api/v1/import", importForm(t, "students", file), &a)
	if a.Result.Students != (storage.ImportCounts{Moved: 1}) {
		t.Fatalf("import: %+v", a.Result)
	}
	da.must(200, "GET", "/api/v1/users/"+itoa(fx.studentB), nil, &u)
	if int64(u.SchoolID) != fx.schoolA || u.Grade != 3 {
		t.Fatalf("student after the import: %+v", u)
	}
	var recent struct{ Items []storage.Activity }
	da.must(200, "GET", "/api/v1/activity/recent?limit=50", nil, &recent)
	i := slices.IndexFunc(recent.Items, func(a storage.Activity) bool { return a.Action == "user.move" })
	if i < 0 {
		t.Fatalf("no user.move in %+v", recent.Items)
	}
	if mv := recent.Items[i]; int64(mv.ActorID) != fx.userIDs["district_admin"] || int64(mv.SchoolID) != fx.schoolA ||
		!strings.Contains(mv.Detail, fmt.Sprintf(`"from_school_id":%d`, fx.schoolB)) || !strings.Contains(mv.Detail, fmt.Sprintf(`"to_school_id":%d`, fx.schoolA)) {
		t.Errorf("user.move row %+v", mv)
	}
	da.must(200, "POST", "/api/v1/import", importForm(t, "students", file), &a)
	if a.Result.Students != (storage.ImportCounts{Unchanged: 1}) {
		t.Errorf("re-import: %+v", a.Result)
	}
}

// TestImportReportsEveryKindOfBadRow: a file bad in several ways answers
// them all at once, with their rows.
func TestImportReportsEveryKindOfBadRow(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	sa := fx.users["school_admin"]
	file := "school_code,student_no,name,grade\n" +
		"A,NEW-1,新生,3\n" + // 2: fine
		"A,NEW-2,新生,十三\n" + // 3: no such grade
		"NOPE,NEW-3,新生,3\n" + // 4: no such school
		"B,NEW-4,新生,3\n" + // 5: another school's
		"A,S-B-1,冒名,3\n" // 6: a student of another school
	rows := importErrors(t, sa.send("POST", "/api/v1/import", importForm(t, "students", file, "dry_run", "true")))
	want := []string{"3 grade", "4 school_code", "5 school_code", "6 student_no"}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprint(r.Row, " ", r.Column))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows %v (%v), want %v", got, rows, want)
	}
	importErrors(t, sa.send("POST", "/api/v1/import", importForm(t, "students", file)))
	if r := fx.users["system_admin"].send("GET", "/api/v1/users?q=NEW-1", nil); !strings.Contains(string(r.body), `"total":0`) {
		t.Errorf("a file with bad rows created users: %v", r)
	}
}

// TestImportOnOneDistrict: a system admin of an installation with one
// district need not name it, whatever the file holds.
func TestImportOnOneDistrict(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	admin.must(200, "POST", "/api/v1/import", importForm(t, "schools", "code,name,kind\nS1,一小,小学\n"), nil)
	var a struct{ Result storage.ImportResult }
	admin.must(200, "POST", "/api/v1/import", importForm(t, "teachers", "school_code,staff_no,name\nS1,T1,王\n"), &a)
	admin.must(200, "POST", "/api/v1/import", importForm(t, "students", "school_code,student_no,name,grade\nS1,1001,张,1\n"), &a)
	if a.Result.Students.Created != 1 {
		t.Errorf("students: %+v", a.Result)
	}
	admin.must(201, "POST", "/api/v1/districts", map[string]any{"code": "east", "name": "东区"}, nil)
	if r := admin.send("POST", "/api/v1/import", importForm(t, "students", "school_code,student_no,name,grade\nS1,1001,张,1\n")); r.status != 400 || r.errFields()["district_id"] == nil {
		t.Errorf("two districts, none named: %v, want 400 naming district_id", r)
	}
}

// TestImportTooLargeUnpacked: a workbook that expands past the limit is
// refused at once.
func TestImportTooLargeUnpacked(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range importer.MaxUnzipped>>20 + 1 {
		_, _ = w.Write(chunk)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	r := admin.send("POST", "/api/v1/import", multipartForm(t, map[string]string{"kind": "schools"}, "bomb.xlsx", b.Bytes()))
	if r.status != 413 || r.errCode() != "too_large" || !strings.Contains(string(r.body), "32 MiB") {
		t.Errorf("%d KiB workbook of 33 MiB: %v, want 413 too_large", b.Len()>>10, r)
	}
}

// TestImportOneAtATime: while an administrator's import runs, their
// second one answers 429 import_busy; others' are not held up.
func TestImportOneAtATime(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	da := fx.users["district_admin"]
	body := importForm(t, "schools", "code,name,kind\nN1,新一小,小学\n")

	// The first import's body is sent only when the test says so; the
	// server asks for it ("100 Continue") once the handler holds the
	// user's turn and starts to read.
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", srv.url+"/api/v1/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", body.ctype)
	req.Header.Set("X-CSRF-Token", da.csrf)
	req.Header.Set("Expect", "100-continue")
	reading := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(reading) },
	}))
	defer pw.CloseWithError(io.ErrUnexpectedEOF) // unblocks the server if the test fails early
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = time.Minute
	hc := &http.Client{Jar: da.hc.Jar, Transport: tr}
	defer tr.CloseIdleConnections()
	first := make(chan reply, 1)
	go func() {
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("first import: %v", err)
			first <- reply{}
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		first <- reply{status: resp.StatusCode, body: data}
	}()
	select {
	case <-reading:
	case r := <-first:
		t.Fatalf("the first import ended before reading its body: %v", r)
	}
	// The first import holds the user's turn, waiting for its body: a
	// second import by the same user is refused, while another
	// administrator's goes ahead.
	second := da.send("POST", "/api/v1/import", body)
	fx.users["system_admin"].must(200, "POST", "/api/v1/import", importForm(t, "schools", "code,name,kind\nN2,新二小,小学\n",
		"district_id", itoa(fx.district)), nil)
	if _, err := pw.Write(body.buf.Bytes()); err != nil {
		t.Fatalf("sending the first import's body: %v", err)
	}
	_ = pw.Close()
	if r := <-first; r.status != 200 {
		t.Fatalf("first import: %v", r)
	}
	if second.status != 429 || second.errCode() != "import_busy" {
		t.Fatalf("second import while the first ran: %v, want 429 import_busy", second)
	}
	// Once the first has answered, the user may import again.
	da.must(200, "POST", "/api/v1/import", body, nil)
}

// importAnswerIn is a 422 or 413 answer's message and rows, asked for in
// the language of an Accept-Language header (none when empty).
func importAnswerIn(t *testing.T, a *api, path string, body *multipartBody, acceptLanguage string) (reply, string, []importer.RowError) {
	t.Helper()
	r := a.send("POST", path, body, "Accept-Language", acceptLanguage)
	var e struct {
		Error struct {
			Message string
			Rows    []importer.RowError
		}
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("%v: %v", r, err)
	}
	return r, e.Error.Message, e.Error.Rows
}

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// TestImportMessagesFollowAcceptLanguage: the same bad file answers the
// same rows and columns in Chinese (asked for, or by default) and in
// English, from the file's own checks and from the store's (a school or
// student out of the caller's scope); so do a file too large or of the
// wrong format, on both import endpoints.
func TestImportMessagesFollowAcceptLanguage(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	sa := fx.users["school_admin"]
	file := "学号,姓名,年级,学校代码\n" +
		"NEW-1,新生,3,A\n" + // 2: fine
		",新生,3,A\n" + // 3: no student number
		"NEW-3,新生,13,A\n" + // 4: no such grade
		"NEW-4,新生,3,NOPE\n" + // 5: no such school (the store)
		"NEW-5,新生,3,B\n" + // 6: another school's (the store)
		"S-B-1,冒名,3,A\n" + // 7: a student of another school (the store)
		"NEW-1,重复,3,A\n" // 8: NEW-1 again
	want := []struct {
		row            int
		column, en, zh string
		zhColumn       string // the Chinese header the Chinese message names
		fromTheStore   bool
	}{
		{3, "student_no", "student_no is required", "学号不能为空", "学号", false},
		{4, "grade", `grade must be 1–12`, `年级必须是 1–12`, "年级", false},
		{5, "school_code", `no school has the code "NOPE"`, `没有学校代码为 "NOPE" 的学校`, "学校代码", true},
		{6, "school_code", `school "B" is not one you may import into`, `你无权向学校 "B" 导入`, "学校", true},
		{7, "student_no", `student_no "S-B-1" belongs to another school or to an account you may not change`, `学号 "S-B-1" 属于其他学校或你无权修改的账号`, "学号", true},
		{8, "student_no", `student_no "NEW-1" is already on row 2`, `学号 "NEW-1" 与第 2 行重复`, "学号", false},
	}
	answers := map[string][]importer.RowError{}
	for _, lang := range []string{"zh-CN", "en", "", "en-US,en;q=0.9", "fr, zh;q=0.5", "fr"} {
		r, msg, rows := importAnswerIn(t, sa, "/api/v1/import", importForm(t, "students", file, "dry_run", "true"), lang)
		if r.status != 422 || r.errCode() != "invalid_rows" || len(rows) != len(want) {
			t.Fatalf("%q: %v, want 422 invalid_rows with %d rows", lang, r, len(want))
		}
		english := strings.HasPrefix(lang, "en")
		if english && msg != "6 problems in the file: nothing was imported" || !english && msg != "文件中有 6 处问题，未导入任何数据" {
			t.Errorf("%q: message %q", lang, msg)
		}
		for i, w := range want {
			got := rows[i]
			if got.Row != w.row || got.Column != w.column {
				t.Errorf("%q: row %v, want row %d, %s", lang, got, w.row, w.column)
			}
			switch {
			case english && (!strings.HasPrefix(got.Message, w.en) || hasHan(strings.ReplaceAll(got.Message, "一年级…, 初一…, 高一…", ""))):
				t.Errorf("%q: row %d: %q, want English: %s…", lang, w.row, got.Message, w.en)
			case !english && (!strings.HasPrefix(got.Message, w.zh) || !strings.Contains(got.Message, w.zhColumn) && !w.fromTheStore ||
				strings.Contains(got.Message, w.column)):
				t.Errorf("%q: row %d: %q, want Chinese naming %s: %s…", lang, w.row, got.Message, w.zhColumn, w.zh)
			}
		}
		answers[lang] = rows
	}
	// Without a header, or with only a language there are no messages in,
	// the answer is the Chinese one.
	for _, lang := range []string{"", "fr"} {
		if fmt.Sprint(answers[lang]) != fmt.Sprint(answers["zh-CN"]) {
			t.Errorf("%q: %v, want the Chinese answer %v", lang, answers[lang], answers["zh-CN"])
		}
	}

	// The file as a whole: too large, or not a spreadsheet.
	huge := bytes.Repeat([]byte("x"), importer.MaxFileSize+1)
	xls := []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00")
	kps := func(name string, data []byte) *multipartBody { return multipartForm(t, nil, name, data) }
	da, sys := fx.users["district_admin"], fx.users["system_admin"]
	for _, c := range []struct {
		name   string
		a      *api
		path   string
		body   func() *multipartBody
		status int
		en, zh string
	}{
		{"11 MiB file", da, "/api/v1/import", func() *multipartBody { return importForm(t, "schools", string(huge)) }, 413,
			"the file is larger than 10 MiB", "文件超过 10 MiB"},
		{"old Excel file", da, "/api/v1/import", func() *multipartBody {
			return multipartForm(t, map[string]string{"kind": "schools"}, "schools.xls", xls)
		}, 422, "schools.xls is an old Excel (.xls) file", "schools.xls 是旧版 Excel（.xls）文件"},
		{"11 MiB knowledge points", sys, "/api/v1/knowledge-points/import", func() *multipartBody { return kps("kp.csv", huge) }, 413,
			"the file is larger than 10 MiB", "文件超过 10 MiB"},
		{"unknown subject", sys, "/api/v1/knowledge-points/import", func() *multipartBody {
			return kps("kp.csv", []byte("学科,年级,编码,名称\nnosuch,3,X,Y\n"))
		}, 422, "1 problem in the file", "文件中有 1 处问题"},
	} {
		for lang, want := range map[string]string{"en": c.en, "zh-CN": c.zh, "": c.zh} {
			r, msg, rows := importAnswerIn(t, c.a, c.path, c.body(), lang)
			if r.status != c.status || !strings.HasPrefix(msg, want) {
				t.Errorf("%s, %q: %v, want %d: %s…", c.name, lang, r, c.status, want)
			}
			if c.status == 422 && (len(rows) != 1 || (lang == "en") == hasHan(rows[0].Message)) {
				t.Errorf("%s, %q: rows %v", c.name, lang, rows)
			}
		}
	}
}
