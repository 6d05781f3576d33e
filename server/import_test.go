package server_test

import (
	"bytes"
	"strings"
	"testing"

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
