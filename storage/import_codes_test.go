package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// TestImportRowCodes: every row error of an import carries a code and the
// arguments of its format, which fill it to the English Message; a field
// or a kind of rows among them is an ImportTerm, so that another language
// can name it in its own words.
func TestImportRowCodes(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := install(t, s)
		b := storage.ImportBatch{DistrictID: w.d.ID, InitialPasswordHash: "h", DryRun: true,
			Schools: []storage.SchoolRow{
				{Code: "", Name: "无代码", Kind: storage.KindPrimary},   // required
				{Code: "N1", Name: "新", Kind: "university"},          // unknown kind
				{Code: "N2", Name: "新二", Kind: storage.KindPrimary},  // fine
				{Code: "N2", Name: "新二", Kind: storage.KindPrimary},  // duplicate
				{Code: "X1", Name: "外区", Kind: storage.KindPrimary}}, // another district's school
			Teachers: []storage.TeacherRow{
				{SchoolCode: "S1", StaffNo: "T1", Name: "王", Grades: []int{13}},            // grades
				{SchoolCode: "S1", StaffNo: "T2", Name: "李", SubjectCodes: []string{"炼金"}}, // no subject
				{SchoolCode: "S1", StaffNo: "T-S2", Name: "冒名"}},                           // out of scope
			Students: []storage.StudentRow{
				{SchoolCode: "S1", StudentNo: "1", Name: "甲", Grade: 0},     // grade
				{SchoolCode: "NOPE", StudentNo: "2", Name: "乙", Grade: 1},   // no school
				{SchoolCode: "S2", StudentNo: "3", Name: "丙", Grade: 1},     // school out of scope
				{SchoolCode: "X1", StudentNo: "4", Name: "丁", Grade: 1},     // another district's school
				{SchoolCode: "S1", StudentNo: "N-X1", Name: "戊", Grade: 1}}, // out of scope
			Authorize: schoolAdminOf(w.s1.ID),
		}
		_, err := s.Import(ctx, admin, b)
		var re *storage.ImportRowsError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v; want an *ImportRowsError", err)
		}
		formats := storage.ImportFormats()
		codes := map[string]bool{}
		for _, r := range re.Rows {
			f, ok := formats[r.Code]
			if !ok {
				t.Errorf("%v: unknown code %q", r, r.Code)
				continue
			}
			codes[r.Code] = true
			if got := fmt.Sprintf(f, r.Args...); got != r.Message || strings.Contains(got, "%!") {
				t.Errorf("%v: the format %q fills to %q", r, f, got)
			}
			for _, a := range r.Args {
				if s, ok := a.(string); ok && (s == r.Field || s == r.Kind) {
					t.Errorf("%v: the argument %q is a term, not an ImportTerm", r, s)
				}
			}
		}
		for _, want := range []string{storage.ImportRequired, storage.ImportUnknownSchoolKind, storage.ImportDuplicate,
			storage.ImportSchoolElsewhere, storage.ImportGrades, storage.ImportNoSubject, storage.ImportUserOutOfScope,
			storage.ImportGrade, storage.ImportNoSchool, storage.ImportSchoolOutOfScope} {
			if !codes[want] {
				t.Errorf("no row coded %s in %v", want, re.Rows)
			}
		}
		dup := re.Rows[slices.IndexFunc(re.Rows, func(r storage.ImportRowError) bool { return r.Code == storage.ImportDuplicate })]
		if !slices.Contains(dup.Args, any(storage.ImportTerm("schools"))) || dup.Message != `"N2" is already on schools row 3` {
			t.Errorf("duplicate row %+v", dup)
		}

		// Without a check of the caller, a user of another district.
		b = storage.ImportBatch{DistrictID: w.d.ID, InitialPasswordHash: "h",
			Students: []storage.StudentRow{{SchoolCode: "S1", StudentNo: "N-X1", Name: "x", Grade: 1}}}
		_, err = s.Import(ctx, admin, b)
		if !errors.As(err, &re) || len(re.Rows) != 1 || re.Rows[0].Code != storage.ImportUserElsewhere ||
			!slices.Equal(re.Rows[0].Args, []any{storage.ImportTerm("student_no"), "N-X1"}) {
			t.Errorf("student of another district: %v", err)
		}
	})
}
