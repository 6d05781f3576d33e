package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

const userCols = `id, username, name, COALESCE(district_id, 0), COALESCE(school_id, 0), active, must_change_password,
	student_no, staff_no, grade, class, trainee, expert_district, version, created_at, updated_at`

func scanUser(r row, extra ...any) (User, error) {
	var u User
	var created, updated int64
	dest := []any{(*int64)(&u.ID), &u.Username, &u.Name, (*int64)(&u.DistrictID), (*int64)(&u.SchoolID),
		&u.Active, &u.MustChangePassword, &u.StudentNo, &u.StaffNo, &u.Grade, &u.Class, &u.Trainee,
		&u.ExpertScope.District, &u.Version, &created, &updated}
	err := r.Scan(append(dest, extra...)...)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	u.Roles, u.Subjects, u.Grades, u.ExpertScope.Schools = []Role{}, []SubjectID{}, []int{}, []SchoolID{}
	return u, err
}

func userSearch(in UserInput) string {
	return strings.ToLower(in.Username + "\n" + in.Name + "\n" + in.StaffNo + "\n" + in.StudentNo)
}

// cleanUser trims and checks what can be checked without the database,
// and puts the sets in a canonical order (so equal inputs compare equal).
func cleanUser(in UserInput) (UserInput, error) {
	in.Username = strings.TrimSpace(in.Username)
	in.Name = strings.TrimSpace(in.Name)
	in.StudentNo = strings.TrimSpace(in.StudentNo)
	in.StaffNo = strings.TrimSpace(in.StaffNo)
	in.Class = strings.TrimSpace(in.Class)
	switch {
	case in.Username == "":
		return in, &FieldError{Field: "username", Message: "is required"}
	case len(in.Username) > 128:
		return in, &FieldError{Field: "username", Message: "is too long"}
	case in.Name == "":
		return in, &FieldError{Field: "name", Message: "is required"}
	case len(in.Roles) == 0:
		return in, &FieldError{Field: "roles", Message: "at least one role is required"}
	case in.Grade < 0 || in.Grade > 12:
		return in, &FieldError{Field: "grade", Message: "must be between 1 and 12"}
	case in.DistrictID < 0 || in.SchoolID < 0:
		return in, &FieldError{Field: "district_id", Message: "is invalid"}
	}
	roles := make([]Role, 0, len(in.Roles))
	for _, r := range AllRoles {
		if slices.Contains(in.Roles, r) {
			roles = append(roles, r)
		}
	}
	for _, r := range in.Roles {
		if !r.Valid() {
			return in, &FieldError{Field: "roles", Message: fmt.Sprintf("unknown role %q", r)}
		}
	}
	in.Roles = roles
	for _, g := range in.Grades {
		if g < 1 || g > 12 {
			return in, &FieldError{Field: "grades", Message: "grades must be between 1 and 12"}
		}
	}
	in.Grades = sortedSet(in.Grades)
	in.Subjects = sortedSet(in.Subjects)
	in.ExpertScope.Schools = sortedSet(in.ExpertScope.Schools)
	if in.DistrictID == 0 && in.SchoolID == 0 && !slices.Contains(in.Roles, RoleSystemAdmin) {
		return in, &FieldError{Field: "district_id", Message: "is required (only system admins belong to no district)"}
	}
	return in, nil
}

func sortedSet[T interface{ ~int | ~int64 }](v []T) []T {
	out := slices.Clone(v)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []T{}
	}
	return out
}

// checkUserRefs verifies what the user input points at and fills in the
// district from the school.
func checkUserRefs(ctx context.Context, q querier, d *dialect, in *UserInput) error {
	if in.SchoolID != 0 {
		var district DistrictID
		err := q.queryRow(ctx, "SELECT district_id FROM schools WHERE id = $1", int64(in.SchoolID)).Scan((*int64)(&district))
		if isNoRows(err) {
			return &FieldError{Field: "school_id", Message: "no such school"}
		}
		if err != nil {
			return err
		}
		if in.DistrictID == 0 {
			in.DistrictID = district
		} else if in.DistrictID != district {
			return &FieldError{Field: "school_id", Message: "the school is in another district"}
		}
	} else if in.DistrictID != 0 {
		if err := districtExists(ctx, q, in.DistrictID); err != nil {
			return err
		}
	}
	if err := countExisting(ctx, q, d, "subjects", ids(in.Subjects), "subject_ids", "no such subject"); err != nil {
		return err
	}
	return countExisting(ctx, q, d, "schools", ids(in.ExpertScope.Schools), "expert_scope", "no such school")
}

func countExisting(ctx context.Context, q querier, d *dialect, table string, want []int64, field, msg string) error {
	if len(want) == 0 {
		return nil
	}
	var n int
	if err := q.queryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE "+d.inList("id", 1), d.listArg(want)).Scan(&n); err != nil {
		return err
	}
	if n != len(want) {
		return &FieldError{Field: field, Message: msg}
	}
	return nil
}

func userValues(in UserInput) map[string]string {
	return map[string]string{"username": in.Username, "staff_no": in.StaffNo, "student_no": in.StudentNo}
}

// CreateUser adds a user and logs "user.create".
func (s *Store) CreateUser(ctx context.Context, a Actor, in UserInput, passwordHash string, mustChange bool) (User, error) {
	in, err := cleanUser(in)
	if err != nil {
		return User{}, fmt.Errorf("storage: create user: %w", err)
	}
	var u User
	err = s.tx(ctx, func(q querier) error {
		in := in
		if err := checkUserRefs(ctx, q, s.d, &in); err != nil {
			return err
		}
		var err error
		u, err = s.insertUser(ctx, q, a, in, passwordHash, mustChange, nil)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("storage: create user %q: %w", in.Username, err)
	}
	return u, nil
}

// insertUser writes a checked user, its sets and its activity row.
func (s *Store) insertUser(ctx context.Context, q querier, a Actor, in UserInput, hash string, mustChange bool, batch activityBatch) (User, error) {
	now := ms(s.now())
	u, err := scanUser(q.queryRow(ctx, `INSERT INTO users (username, username_key, name, district_id, school_id, active,
		must_change_password, password_hash, student_no, staff_no, grade, class, trainee, expert_district, search,
		version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16) RETURNING `+userCols,
		in.Username, strings.ToLower(in.Username), in.Name, nullID(in.DistrictID), nullID(in.SchoolID), in.Active,
		mustChange, hash, in.StudentNo, in.StaffNo, in.Grade, in.Class, in.Trainee, in.ExpertScope.District,
		userSearch(in), now))
	if err != nil {
		return User{}, mapErr(err, userValues(in))
	}
	if err := writeUserSets(ctx, q, u.ID, in, false); err != nil {
		return User{}, err
	}
	setUserSets(&u, in)
	return u, s.logChange(ctx, q, a, Activity{
		Action: "user.create", DistrictID: u.DistrictID, SchoolID: u.SchoolID, Subject: "user:" + itoa(u.ID),
	}, map[string]any{"username": u.Username, "roles": u.Roles}, batch)
}

func setUserSets(u *User, in UserInput) {
	u.Roles = slices.Clone(in.Roles)
	u.Subjects = slices.Clone(in.Subjects)
	u.Grades = slices.Clone(in.Grades)
	u.ExpertScope.Schools = slices.Clone(in.ExpertScope.Schools)
}

// writeUserSets stores roles, subjects, grades and expert schools,
// replacing what was there when replace is set.
func writeUserSets(ctx context.Context, q querier, id UserID, in UserInput, replace bool) error {
	if replace {
		for _, t := range []string{"user_roles", "user_subjects", "user_grades", "expert_schools"} {
			if _, err := q.exec(ctx, "DELETE FROM "+t+" WHERE user_id = $1", int64(id)); err != nil {
				return err
			}
		}
	}
	for _, r := range in.Roles {
		if _, err := q.exec(ctx, "INSERT INTO user_roles (user_id, role) VALUES ($1, $2)", int64(id), string(r)); err != nil {
			return err
		}
	}
	for _, sub := range in.Subjects {
		if _, err := q.exec(ctx, "INSERT INTO user_subjects (user_id, subject_id) VALUES ($1, $2)", int64(id), int64(sub)); err != nil {
			return mapErr(err, nil)
		}
	}
	for _, g := range in.Grades {
		if _, err := q.exec(ctx, "INSERT INTO user_grades (user_id, grade) VALUES ($1, $2)", int64(id), g); err != nil {
			return err
		}
	}
	for _, sc := range in.ExpertScope.Schools {
		if _, err := q.exec(ctx, "INSERT INTO expert_schools (user_id, school_id) VALUES ($1, $2)", int64(id), int64(sc)); err != nil {
			return mapErr(err, nil)
		}
	}
	return nil
}

// loadUserSets fills in the roles, subjects, grades and expert schools of users.
func loadUserSets(ctx context.Context, q querier, d *dialect, users []User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[UserID]*User, len(users))
	list := make([]int64, len(users))
	for i := range users {
		byID[users[i].ID] = &users[i]
		list[i] = int64(users[i].ID)
	}
	arg := d.listArg(list)
	read := func(query string, add func(u *User, v any), v func() any) error {
		r, err := q.query(ctx, query, arg)
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var id int64
			x := v()
			if err := r.Scan(&id, x); err != nil {
				return err
			}
			if u := byID[UserID(id)]; u != nil {
				add(u, x)
			}
		}
		return r.Err()
	}
	if err := read("SELECT user_id, role FROM user_roles WHERE "+d.inList("user_id", 1),
		func(u *User, v any) { u.Roles = append(u.Roles, Role(*v.(*string))) },
		func() any { return new(string) }); err != nil {
		return err
	}
	if err := read("SELECT user_id, subject_id FROM user_subjects WHERE "+d.inList("user_id", 1)+" ORDER BY user_id, subject_id",
		func(u *User, v any) { u.Subjects = append(u.Subjects, SubjectID(*v.(*int64))) },
		func() any { return new(int64) }); err != nil {
		return err
	}
	if err := read("SELECT user_id, grade FROM user_grades WHERE "+d.inList("user_id", 1)+" ORDER BY user_id, grade",
		func(u *User, v any) { u.Grades = append(u.Grades, *v.(*int)) },
		func() any { return new(int) }); err != nil {
		return err
	}
	if err := read("SELECT user_id, school_id FROM expert_schools WHERE "+d.inList("user_id", 1)+" ORDER BY user_id, school_id",
		func(u *User, v any) { u.ExpertScope.Schools = append(u.ExpertScope.Schools, SchoolID(*v.(*int64))) },
		func() any { return new(int64) }); err != nil {
		return err
	}
	// Roles in the order of AllRoles.
	for i := range users {
		slices.SortFunc(users[i].Roles, func(a, b Role) int {
			return slices.Index(AllRoles, a) - slices.Index(AllRoles, b)
		})
	}
	return nil
}

// UpdateUser replaces the editable fields when version matches (ErrConflict otherwise).
func (s *Store) UpdateUser(ctx context.Context, a Actor, id UserID, in UserInput, version int64) (User, error) {
	in, err := cleanUser(in)
	if err != nil {
		return User{}, fmt.Errorf("storage: update user %d: %w", id, err)
	}
	var u User
	err = s.tx(ctx, func(q querier) error {
		in := in
		if err := checkUserRefs(ctx, q, s.d, &in); err != nil {
			return err
		}
		var err error
		u, err = s.updateUser(ctx, q, id, in, version)
		if err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{
			Action: "user.update", DistrictID: u.DistrictID, SchoolID: u.SchoolID, Subject: "user:" + itoa(u.ID),
		}, map[string]any{"username": u.Username, "roles": u.Roles, "active": u.Active, "version": u.Version}, nil)
	})
	if err != nil {
		return User{}, fmt.Errorf("storage: update user %d: %w", id, err)
	}
	return u, nil
}

// updateUser writes a checked user over version (0: whatever it is).
func (s *Store) updateUser(ctx context.Context, q querier, id UserID, in UserInput, version int64) (User, error) {
	u, err := scanUser(q.queryRow(ctx, `UPDATE users SET username = $3, username_key = $4, name = $5, district_id = $6,
		school_id = $7, active = $8, student_no = $9, staff_no = $10, grade = $11, class = $12, trainee = $13,
		expert_district = $14, search = $15, version = version + 1, updated_at = $16
		WHERE id = $1 AND (version = $2 OR $2 = 0) RETURNING `+userCols,
		int64(id), version, in.Username, strings.ToLower(in.Username), in.Name, nullID(in.DistrictID),
		nullID(in.SchoolID), in.Active, in.StudentNo, in.StaffNo, in.Grade, in.Class, in.Trainee,
		in.ExpertScope.District, userSearch(in), ms(s.now())))
	if isNoRows(err) {
		return User{}, missingOrConflict(ctx, q, "users", int64(id))
	}
	if err != nil {
		return User{}, mapErr(err, userValues(in))
	}
	if err := writeUserSets(ctx, q, id, in, true); err != nil {
		return User{}, err
	}
	setUserSets(&u, in)
	return u, nil
}

// GetUser returns one user or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id UserID) (User, error) {
	u, err := s.getUser(ctx, s.r(), "id = $1", int64(id))
	if err != nil {
		return User{}, fmt.Errorf("storage: user %d: %w", id, err)
	}
	return u, nil
}

func (s *Store) getUser(ctx context.Context, q querier, cond string, arg any, extra ...any) (User, error) {
	u, err := scanUser(q.queryRow(ctx, "SELECT "+userCols+extraCols(extra)+" FROM users WHERE "+cond, arg), extra...)
	if isNoRows(err) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	list := []User{u}
	if err := loadUserSets(ctx, q, s.d, list); err != nil {
		return User{}, err
	}
	return list[0], nil
}

func extraCols(extra []any) string {
	if len(extra) > 0 {
		return ", password_hash"
	}
	return ""
}

// CredentialsByUsername finds a user by username, case-insensitively.
func (s *Store) CredentialsByUsername(ctx context.Context, username string) (Credentials, error) {
	var c Credentials
	u, err := s.getUser(ctx, s.r(), "username_key = $1", strings.ToLower(strings.TrimSpace(username)), &c.PasswordHash)
	if err != nil {
		return Credentials{}, fmt.Errorf("storage: user %q: %w", username, err)
	}
	c.User = u
	return c, nil
}

// SetPassword replaces the password hash and logs "user.password".
func (s *Store) SetPassword(ctx context.Context, a Actor, id UserID, hash string, mustChange bool) error {
	if hash == "" {
		return fmt.Errorf("storage: set password of user %d: %w", id, &FieldError{Field: "password", Message: "is required"})
	}
	err := s.tx(ctx, func(q querier) error {
		var district DistrictID
		var school SchoolID
		err := q.queryRow(ctx, `UPDATE users SET password_hash = $2, must_change_password = $3, version = version + 1,
			updated_at = $4 WHERE id = $1 RETURNING COALESCE(district_id, 0), COALESCE(school_id, 0)`,
			int64(id), hash, mustChange, ms(s.now())).Scan((*int64)(&district), (*int64)(&school))
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{
			Action: "user.password", DistrictID: district, SchoolID: school, Subject: "user:" + itoa(id),
		}, map[string]any{"must_change": mustChange}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: set password of user %d: %w", id, err)
	}
	return nil
}

// ListUsers returns one page, ordered by id, and the total number of matches.
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	if f.SchoolIDs != nil && len(f.SchoolIDs) == 0 {
		return []User{}, 0, nil
	}
	c := s.newFilter(f.DistrictID, f.Query, f.Active)
	if f.SchoolIDs != nil {
		c.in("school_id", ids(f.SchoolIDs))
	}
	if f.Role != "" {
		c.add("EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = users.id AND r.role = $%d)", string(f.Role))
	}
	limit, offset := page(f.Limit, f.Offset)
	out := []User{}
	var total int
	err := s.readList(ctx, "users", c.where, c.args, "id", limit, offset, &total, userCols, func(r rows) error {
		u, err := scanUser(r)
		out = append(out, u)
		return err
	})
	if err == nil {
		err = loadUserSets(ctx, s.r(), s.d, out)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list users: %w", err)
	}
	return out, total, nil
}

// CountUsers counts every user, active or not.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count users: %w", err)
	}
	return n, nil
}

// GetUserByStaffNo finds a user by staff number (exactly as stored).
func (s *Store) GetUserByStaffNo(ctx context.Context, staffNo string) (User, error) {
	if staffNo == "" {
		return User{}, fmt.Errorf("storage: user with staff number %q: %w", staffNo, ErrNotFound)
	}
	u, err := s.getUser(ctx, s.r(), "staff_no = $1", staffNo)
	if err != nil {
		return User{}, fmt.Errorf("storage: user with staff number %q: %w", staffNo, err)
	}
	return u, nil
}
