package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// CreateDistrict adds a district and logs "district.create".
func (s *Store) CreateDistrict(ctx context.Context, a Actor, code, name string) (District, error) {
	d := District{Code: strings.TrimSpace(code), Name: strings.TrimSpace(name), CreatedAt: s.now()}
	if d.Code == "" {
		return District{}, &FieldError{Field: "code", Message: "is required"}
	}
	if d.Name == "" {
		return District{}, &FieldError{Field: "name", Message: "is required"}
	}
	err := s.tx(ctx, func(q querier) error {
		if err := q.queryRow(ctx, `INSERT INTO districts (code, name, created_at) VALUES ($1, $2, $3) RETURNING id`,
			d.Code, d.Name, ms(d.CreatedAt)).Scan((*int64)(&d.ID)); err != nil {
			return mapErr(err, map[string]string{"code": d.Code})
		}
		return s.logChange(ctx, q, a, Activity{
			Action: "district.create", DistrictID: d.ID, Subject: "district:" + itoa(d.ID),
		}, map[string]any{"code": d.Code}, nil)
	})
	if err != nil {
		return District{}, fmt.Errorf("storage: create district %q: %w", d.Code, err)
	}
	d.CreatedAt = fromMS(ms(d.CreatedAt))
	return d, nil
}

// ListDistricts lists every district by id.
func (s *Store) ListDistricts(ctx context.Context) ([]District, error) {
	r, err := s.r().query(ctx, "SELECT id, code, name, created_at FROM districts ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("storage: list districts: %w", err)
	}
	defer r.Close()
	out := []District{}
	for r.Next() {
		var d District
		var at int64
		if err := r.Scan((*int64)(&d.ID), &d.Code, &d.Name, &at); err != nil {
			return nil, fmt.Errorf("storage: list districts: %w", err)
		}
		d.CreatedAt = fromMS(at)
		out = append(out, d)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: list districts: %w", err)
	}
	return out, nil
}

// GetDistrict returns one district or ErrNotFound.
func (s *Store) GetDistrict(ctx context.Context, id DistrictID) (District, error) {
	var d District
	var at int64
	err := s.r().queryRow(ctx, "SELECT id, code, name, created_at FROM districts WHERE id = $1", int64(id)).
		Scan((*int64)(&d.ID), &d.Code, &d.Name, &at)
	if isNoRows(err) {
		return District{}, fmt.Errorf("storage: district %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return District{}, fmt.Errorf("storage: district %d: %w", id, err)
	}
	d.CreatedAt = fromMS(at)
	return d, nil
}

const schoolCols = `id, district_id, code, name, kind, active, version, created_at, updated_at`

func scanSchool(r row) (School, error) {
	var sc School
	var created, updated int64
	err := r.Scan((*int64)(&sc.ID), (*int64)(&sc.DistrictID), &sc.Code, &sc.Name, (*string)(&sc.Kind),
		&sc.Active, &sc.Version, &created, &updated)
	sc.CreatedAt, sc.UpdatedAt = fromMS(created), fromMS(updated)
	return sc, err
}

func schoolSearch(code, name string) string { return strings.ToLower(code + "\n" + name) }

func cleanSchool(in SchoolInput) (SchoolInput, error) {
	in.Code = strings.TrimSpace(in.Code)
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.DistrictID <= 0:
		return in, &FieldError{Field: "district_id", Message: "is required"}
	case in.Code == "":
		return in, &FieldError{Field: "code", Message: "is required"}
	case in.Name == "":
		return in, &FieldError{Field: "name", Message: "is required"}
	case !in.Kind.Valid():
		return in, &FieldError{Field: "kind", Message: fmt.Sprintf("unknown school kind %q", in.Kind)}
	}
	return in, nil
}

// districtExists checks a reference before a write (SQLite's foreign key
// errors do not say which key failed).
func districtExists(ctx context.Context, q querier, id DistrictID) error {
	var n int
	if err := q.queryRow(ctx, "SELECT COUNT(*) FROM districts WHERE id = $1", int64(id)).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return &FieldError{Field: "district_id", Message: "no such district"}
	}
	return nil
}

// CreateSchool adds a school and logs "school.create".
func (s *Store) CreateSchool(ctx context.Context, a Actor, in SchoolInput) (School, error) {
	in, err := cleanSchool(in)
	if err != nil {
		return School{}, fmt.Errorf("storage: create school: %w", err)
	}
	var sc School
	err = s.tx(ctx, func(q querier) error {
		var err error
		sc, err = s.insertSchool(ctx, q, a, in, nil)
		return err
	})
	if err != nil {
		return School{}, fmt.Errorf("storage: create school %q: %w", in.Code, err)
	}
	return sc, nil
}

func (s *Store) insertSchool(ctx context.Context, q querier, a Actor, in SchoolInput, batch activityBatch) (School, error) {
	if err := districtExists(ctx, q, in.DistrictID); err != nil {
		return School{}, err
	}
	now := ms(s.now())
	sc, err := scanSchool(q.queryRow(ctx, `INSERT INTO schools (district_id, code, name, kind, active, search, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING `+schoolCols,
		int64(in.DistrictID), in.Code, in.Name, string(in.Kind), in.Active, schoolSearch(in.Code, in.Name), now))
	if err != nil {
		return School{}, mapErr(err, map[string]string{"code": in.Code})
	}
	return sc, s.logChange(ctx, q, a, Activity{
		Action: "school.create", DistrictID: sc.DistrictID, SchoolID: sc.ID, Subject: "school:" + itoa(sc.ID),
	}, map[string]any{"code": sc.Code}, batch)
}

// UpdateSchool replaces the editable fields when version matches (ErrConflict otherwise).
func (s *Store) UpdateSchool(ctx context.Context, a Actor, id SchoolID, in SchoolInput, version int64) (School, error) {
	in, err := cleanSchool(in)
	if err != nil {
		return School{}, fmt.Errorf("storage: update school %d: %w", id, err)
	}
	var sc School
	err = s.tx(ctx, func(q querier) error {
		if err := districtExists(ctx, q, in.DistrictID); err != nil {
			return err
		}
		var err error
		sc, err = scanSchool(q.queryRow(ctx, `UPDATE schools SET district_id = $3, code = $4, name = $5, kind = $6,
			active = $7, search = $8, version = version + 1, updated_at = $9
			WHERE id = $1 AND version = $2 RETURNING `+schoolCols,
			int64(id), version, int64(in.DistrictID), in.Code, in.Name, string(in.Kind), in.Active,
			schoolSearch(in.Code, in.Name), ms(s.now())))
		if isNoRows(err) {
			return missingOrConflict(ctx, q, "schools", int64(id))
		}
		if err != nil {
			return mapErr(err, map[string]string{"code": in.Code})
		}
		return s.logChange(ctx, q, a, Activity{
			Action: "school.update", DistrictID: sc.DistrictID, SchoolID: sc.ID, Subject: "school:" + itoa(sc.ID),
		}, map[string]any{"code": sc.Code, "active": sc.Active, "version": sc.Version}, nil)
	})
	if err != nil {
		return School{}, fmt.Errorf("storage: update school %d: %w", id, err)
	}
	return sc, nil
}

// missingOrConflict explains why a versioned UPDATE changed nothing.
func missingOrConflict(ctx context.Context, q querier, table string, id int64) error {
	var n int
	if err := q.queryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE id = $1", id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return ErrConflict
}

// GetSchool returns one school or ErrNotFound.
func (s *Store) GetSchool(ctx context.Context, id SchoolID) (School, error) {
	sc, err := scanSchool(s.r().queryRow(ctx, "SELECT "+schoolCols+" FROM schools WHERE id = $1", int64(id)))
	if isNoRows(err) {
		return School{}, fmt.Errorf("storage: school %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return School{}, fmt.Errorf("storage: school %d: %w", id, err)
	}
	return sc, nil
}

// GetSchoolByCode returns the school with a code or ErrNotFound.
func (s *Store) GetSchoolByCode(ctx context.Context, code string) (School, error) {
	sc, err := scanSchool(s.r().queryRow(ctx, "SELECT "+schoolCols+" FROM schools WHERE code = $1", strings.TrimSpace(code)))
	if isNoRows(err) {
		return School{}, fmt.Errorf("storage: school %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return School{}, fmt.Errorf("storage: school %q: %w", code, err)
	}
	return sc, nil
}

// ListSchools returns one page, ordered by id, and the total number of
// matches.
func (s *Store) ListSchools(ctx context.Context, f SchoolFilter) ([]School, int, error) {
	if f.IDs != nil && len(f.IDs) == 0 {
		return []School{}, 0, nil
	}
	c := s.newFilter(f.DistrictID, f.Query, f.Active)
	if f.IDs != nil {
		c.in("id", ids(f.IDs))
	}
	if f.Kind != "" {
		c.add("kind = $%d", string(f.Kind))
	}
	limit, offset := page(f.Limit, f.Offset)
	var out []School
	var total int
	err := s.readList(ctx, "schools", c.where, c.args, "id", limit, offset, &total, schoolCols, func(r rows) error {
		sc, err := scanSchool(r)
		out = append(out, sc)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list schools: %w", err)
	}
	if out == nil {
		out = []School{}
	}
	return out, total, nil
}

// filter collects the conditions of a list query and their arguments.
type filter struct {
	d     *dialect
	where []string
	args  []any
}

// newFilter starts with the conditions the lists share: the district, a
// case-insensitive substring of the search column, and the active flag.
func (s *Store) newFilter(district DistrictID, query string, active *bool) *filter {
	c := &filter{d: s.d}
	if district != 0 {
		c.add("district_id = $%d", int64(district))
	}
	if q := strings.TrimSpace(query); q != "" {
		c.add(`search LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	if active != nil {
		c.add("active = $%d", *active)
	}
	return c
}

// add appends cond, whose %d is the number of its parameter v.
func (c *filter) add(cond string, v any) {
	c.args = append(c.args, v)
	c.where = append(c.where, fmt.Sprintf(cond, len(c.args)))
}

// in appends "col is one of values" ([]int64 or []string).
func (c *filter) in(col string, values any) {
	c.args = append(c.args, c.d.listArg(values))
	c.where = append(c.where, c.d.inList(col, len(c.args)))
}

// readList counts the matches of a filtered list and reads one page.
func (s *Store) readList(ctx context.Context, table string, where []string, args []any, order string,
	limit, offset int, total *int, cols string, scan func(rows) error) error {
	q := s.r()
	w := whereClause(where)
	if err := q.queryRow(ctx, "SELECT COUNT(*) FROM "+table+w, args...).Scan(total); err != nil {
		return err
	}
	n := len(args)
	args = append(args, limit, offset)
	r, err := q.query(ctx, fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s LIMIT $%d OFFSET $%d",
		cols, table, w, order, n+1, n+2), args...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := scan(r); err != nil {
			return err
		}
	}
	return r.Err()
}

// page applies the list defaults: 50 rows, at most 500.
func page(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = 50
	}
	return min(limit, 500), max(offset, 0)
}

// likePattern matches q as a lower-case substring; % _ and \ in q match
// themselves.
func likePattern(q string) string {
	q = strings.ToLower(q)
	q = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
	return "%" + q + "%"
}

func itoa[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }
