package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"yunke/server/auth"
	"yunke/server/importer"
	"yunke/storage"
)

const importSynopsis = `
Usage: yunke import --kind KIND --file FILE [flags]

Imports schools, teachers, students or knowledge points from a CSV or XLSX
file straight into the database, in one transaction: if any row is wrong,
every problem is listed (row 3, grade: …) and nothing changes. Importing the
same file again changes nothing. The columns are listed in docs/api.md
("Import"); --template writes a blank file to start from.

New teachers and students get the initial password (--initial-password or
YUNKE_IMPORT_PASSWORD) and must change it at their first sign-in; existing
ones keep theirs. Schools go into the district --district; with one district
in the database it may be left out, and --district-name creates it.

The problems found in the file are listed in English, or in Chinese with
--lang zh; without --lang, in Chinese when the locale (LC_ALL, LC_MESSAGES or
LANG, the first one set) starts with "zh", as in LANG=zh_CN.UTF-8.

  yunke import --kind schools --file schools.xlsx --district D01 --district-name 城关区
  YUNKE_IMPORT_PASSWORD='Start-2025' yunke import --kind students --file students.csv
  yunke import --kind teachers --file teachers.xlsx --dry-run --lang zh
  yunke import --kind students --template xlsx --file students.xlsx
`

func importCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", importSynopsis, stderr)
	db := registerDBFlags(fs)
	var (
		kindFlag     = fs.String("kind", "", "`kind` of rows in the file: schools, teachers, students or knowledge_points (required)")
		file         = fs.String("file", "", "the CSV or XLSX `file` (required)")
		password     = fs.String("initial-password", "", "`password` of the teachers and students the file creates (env YUNKE_IMPORT_PASSWORD)")
		districtCode = fs.String("district", "", "district `code` of the schools; may be left out when there is one district")
		districtName = fs.String("district-name", "", "create the --district with this `name` when it does not exist")
		dryRun       = fs.Bool("dry-run", false, "check the file against the database, change nothing")
		template     = fs.String("template", "", "instead of importing, write a blank template of `format` csv or xlsx to --file")
		langFlag     = fs.String("lang", "", "`language` of the problems found in the file: zh or en (default: the locale's, see above)")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lang, err := importLang(*langFlag, os.Getenv)
	if err != nil {
		return usageError{err}
	}
	kind, err := importer.ParseKind(*kindFlag)
	if err != nil {
		return usageError{err}
	}
	if *file == "" {
		return usageError{errors.New("--file is required")}
	}
	if *template != "" {
		return writeTemplate(kind, *template, *file, stdout)
	}
	pw := first(*password, os.Getenv("YUNKE_IMPORT_PASSWORD"))
	needsPassword := kind == importer.KindTeachers || kind == importer.KindStudents
	if needsPassword && !*dryRun {
		if msg := auth.CheckPassword(pw, ""); msg != "" {
			return usageError{fmt.Errorf("--initial-password (or YUNKE_IMPORT_PASSWORD): %s", msg)}
		}
	}
	if *districtName != "" && *districtCode == "" {
		return usageError{errors.New("--district-name needs --district")}
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()

	store, _, err := db.open(ctx, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer store.Close()
	subjects, err := store.ListSubjects(ctx)
	if err != nil {
		return err
	}
	// Bad rows are listed together with what the database says of the
	// others, so that one run shows every problem of the file.
	parsed, err := importer.Parse(f, *file, kind, subjects)
	var problems []importer.RowError
	var re *importer.RowsError
	switch {
	case errors.As(err, &re) && re.Truncated():
		return rowProblems(*file, re.Errors, lang, stderr)
	case errors.As(err, &re):
		problems = re.Errors
	case err != nil:
		return errors.New(importer.Message(err, lang))
	}

	if kind == importer.KindKnowledgePoints {
		if len(problems) > 0 {
			return rowProblems(*file, problems, lang, stderr)
		}
		if *dryRun {
			fmt.Fprintf(stdout, "%s: %d rows are valid; nothing was imported (dry run)\n", *file, parsed.Rows)
			return nil
		}
		fmt.Fprintf(stderr, "importing %d rows …\n", len(parsed.KnowledgePoints))
		counts, err := store.ImportKnowledgePoints(ctx, storage.Actor{}, parsed.KnowledgePoints)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "done")
		printCounts(stdout, "knowledge points", counts)
		return nil
	}

	district, err := resolveDistrict(ctx, store, *districtCode, *districtName, *dryRun)
	if err != nil {
		return err
	}
	batch := storage.ImportBatch{DistrictID: district.ID, Schools: parsed.Schools, Teachers: parsed.Teachers, Students: parsed.Students}
	more, err := checkSchools(ctx, store, district, parsed)
	if err != nil {
		return err
	}
	if problems = append(problems, more...); len(problems) > 0 {
		return rowProblems(*file, importer.SortErrors(problems), lang, stderr)
	}
	if *dryRun {
		fmt.Fprintf(stdout, "%s: %d rows are valid; nothing was imported (dry run)\n", *file, parsed.Rows)
		return nil
	}
	if needsPassword {
		if batch.InitialPasswordHash, err = auth.NewHasher(auth.DefaultParams).Hash(ctx, pw); err != nil {
			return err
		}
	}
	n := len(batch.Schools) + len(batch.Teachers) + len(batch.Students)
	fmt.Fprintf(stderr, "importing %d rows into district %s …\n", n, district.Code)
	res, err := store.Import(ctx, storage.Actor{}, batch)
	var ire *storage.ImportRowsError
	if errors.As(err, &ire) {
		for _, r := range ire.Rows {
			problems = append(problems, importer.StoreError(parsed.RowNumbers[r.Index], r))
		}
		return rowProblems(*file, importer.SortErrors(problems), lang, stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "done")
	switch kind {
	case importer.KindSchools:
		printCounts(stdout, "schools", res.Schools)
	case importer.KindTeachers:
		printCounts(stdout, "teachers", res.Teachers)
	case importer.KindStudents:
		printCounts(stdout, "students", res.Students)
	}
	return nil
}

func printCounts(w io.Writer, what string, c storage.ImportCounts) {
	moved := ""
	if c.Moved > 0 {
		moved = fmt.Sprintf(", %d moved from another school", c.Moved)
	}
	fmt.Fprintf(w, "%s: %d created, %d updated%s, %d unchanged\n", what, c.Created, c.Updated, moved, c.Unchanged)
}

// rowProblems prints one line per problem, in lang, and returns the
// command's error.
func rowProblems(file string, rows []importer.RowError, lang importer.Lang, stderr io.Writer) error {
	for _, r := range rows {
		fmt.Fprintln(stderr, r.Line(lang))
	}
	return fmt.Errorf("%s: %s", file, importer.Summary(len(rows), lang))
}

// importLang is the language of the problems the command reports: flag
// (zh or en), else Chinese when the locale (LC_ALL, LC_MESSAGES or LANG,
// the first one set, read with getenv) starts with "zh", else English.
func importLang(flag string, getenv func(string) string) (importer.Lang, error) {
	if flag == "" {
		for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
			if v := getenv(name); v != "" {
				if strings.HasPrefix(strings.ToLower(v), "zh") {
					return importer.Chinese, nil
				}
				break
			}
		}
		return importer.English, nil
	}
	switch l := strings.ToLower(flag); {
	case strings.HasPrefix(l, "zh"):
		return importer.Chinese, nil
	case strings.HasPrefix(l, "en"):
		return importer.English, nil
	}
	return "", fmt.Errorf("--lang %q: want zh or en", flag)
}

// resolveDistrict finds the district named by code, creating it when a
// name is given; with no code, the only district there is.
func resolveDistrict(ctx context.Context, store *storage.Store, code, name string, dryRun bool) (storage.District, error) {
	ds, err := store.ListDistricts(ctx)
	if err != nil {
		return storage.District{}, err
	}
	if code == "" {
		switch len(ds) {
		case 1:
			return ds[0], nil
		case 0:
			return storage.District{}, usageError{errors.New("the database has no district yet: create one with --district CODE --district-name NAME")}
		}
		codes := make([]string, len(ds))
		for i, d := range ds {
			codes[i] = d.Code
		}
		return storage.District{}, usageError{fmt.Errorf("give --district: one of %s", strings.Join(codes, ", "))}
	}
	for _, d := range ds {
		if strings.EqualFold(d.Code, code) {
			return d, nil
		}
	}
	if name == "" {
		return storage.District{}, usageError{fmt.Errorf("no district has the code %q (add --district-name to create it)", code)}
	}
	if dryRun {
		return storage.District{Code: code, Name: name}, nil
	}
	return store.CreateDistrict(ctx, storage.Actor{}, code, name)
}

// checkSchools reports, by file row, teachers and students of schools
// that do not exist and schools that exist in another district.
func checkSchools(ctx context.Context, store *storage.Store, district storage.District, p *importer.Parsed) ([]importer.RowError, error) {
	type ref struct {
		code   string
		column string
		create bool // a school row: may be new, must not be another district's
	}
	var refs []ref
	for _, s := range p.Schools {
		refs = append(refs, ref{s.Code, "code", true})
	}
	for _, t := range p.Teachers {
		refs = append(refs, ref{t.SchoolCode, "school_code", false})
	}
	for _, s := range p.Students {
		refs = append(refs, ref{s.SchoolCode, "school_code", false})
	}
	known := map[string]*storage.School{}
	var rows []importer.RowError
	for i, r := range refs {
		sc, seen := known[r.code]
		if !seen {
			got, err := store.GetSchoolByCode(ctx, r.code)
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				sc = &got
			}
			known[r.code] = sc
		}
		row := p.RowNumbers[i]
		switch {
		case sc == nil && !r.create:
			rows = append(rows, importer.StoreError(row, storage.NewImportRowError(string(p.Kind), i, r.column, storage.ImportNoSchool, r.code)))
		case sc != nil && sc.DistrictID != district.ID:
			rows = append(rows, importer.StoreError(row, storage.NewImportRowError(string(p.Kind), i, r.column, storage.ImportSchoolElsewhere, r.code)))
		}
	}
	return rows, nil
}

func writeTemplate(kind importer.Kind, format, file string, stdout io.Writer) error {
	ft, err := importer.ParseFormat(format)
	if err != nil {
		return usageError{err}
	}
	data, _, _, err := importer.Template(kind, ft)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", file)
	return nil
}
