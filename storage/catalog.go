package storage

import (
	"context"
	"fmt"
	"strings"
)

const subjectCols = `id, code, name, name_en, sort, active`

func scanSubject(r row) (Subject, error) {
	var sub Subject
	err := r.Scan((*int64)(&sub.ID), &sub.Code, &sub.Name, &sub.NameEn, &sub.Sort, &sub.Active)
	return sub, err
}

// ListSubjects lists every subject, active or not, by sort then id.
func (s *Store) ListSubjects(ctx context.Context) ([]Subject, error) {
	out, err := listSubjects(ctx, s.r())
	if err != nil {
		return nil, fmt.Errorf("storage: list subjects: %w", err)
	}
	return out, nil
}

func listSubjects(ctx context.Context, q querier) ([]Subject, error) {
	r, err := q.query(ctx, "SELECT "+subjectCols+" FROM subjects ORDER BY sort, id")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := []Subject{}
	for r.Next() {
		sub, err := scanSubject(r)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, r.Err()
}

func cleanSubject(sub Subject) (Subject, error) {
	sub.Code = strings.TrimSpace(sub.Code)
	sub.Name = strings.TrimSpace(sub.Name)
	sub.NameEn = strings.TrimSpace(sub.NameEn)
	if sub.Code == "" {
		return sub, &FieldError{Field: "code", Message: "is required"}
	}
	if sub.Name == "" {
		return sub, &FieldError{Field: "name", Message: "is required"}
	}
	return sub, nil
}

// CreateSubject adds a subject, always active (sub.ID and sub.Active are
// ignored), and logs "subject.create".
func (s *Store) CreateSubject(ctx context.Context, a Actor, sub Subject) (Subject, error) {
	sub, err := cleanSubject(sub)
	if err != nil {
		return Subject{}, fmt.Errorf("storage: create subject: %w", err)
	}
	var out Subject
	err = s.tx(ctx, func(q querier) error {
		var err error
		out, err = scanSubject(q.queryRow(ctx, `INSERT INTO subjects (code, name, name_en, sort, active)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+subjectCols, sub.Code, sub.Name, sub.NameEn, sub.Sort, true))
		if err != nil {
			return mapErr(err, map[string]string{"code": sub.Code})
		}
		return s.logChange(ctx, q, a, Activity{Action: "subject.create", SubjectID: out.ID, Subject: "subject:" + itoa(out.ID)},
			map[string]any{"code": out.Code}, nil)
	})
	if err != nil {
		return Subject{}, fmt.Errorf("storage: create subject %q: %w", sub.Code, err)
	}
	return out, nil
}

// UpdateSubject replaces the code, names, sort and active flag of the
// subject sub.ID and logs "subject.update".
func (s *Store) UpdateSubject(ctx context.Context, a Actor, sub Subject) (Subject, error) {
	sub, err := cleanSubject(sub)
	if err != nil {
		return Subject{}, fmt.Errorf("storage: update subject %d: %w", sub.ID, err)
	}
	var out Subject
	err = s.tx(ctx, func(q querier) error {
		var err error
		out, err = scanSubject(q.queryRow(ctx, `UPDATE subjects SET code = $2, name = $3, name_en = $4, sort = $5, active = $6
			WHERE id = $1 RETURNING `+subjectCols, int64(sub.ID), sub.Code, sub.Name, sub.NameEn, sub.Sort, sub.Active))
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return mapErr(err, map[string]string{"code": sub.Code})
		}
		return s.logChange(ctx, q, a, Activity{Action: "subject.update", SubjectID: out.ID, Subject: "subject:" + itoa(out.ID)},
			map[string]any{"code": out.Code, "active": out.Active}, nil)
	})
	if err != nil {
		return Subject{}, fmt.Errorf("storage: update subject %d: %w", sub.ID, err)
	}
	return out, nil
}

// ListKnowledgePoints lists a subject's tree; grade 0 means every grade.
// Nodes come by grade, sort and id.
func (s *Store) ListKnowledgePoints(ctx context.Context, subject SubjectID, grade int) ([]KnowledgePoint, error) {
	r, err := s.r().query(ctx, `SELECT id, subject_id, grade, COALESCE(parent_id, 0), code, name, sort
		FROM knowledge_points WHERE subject_id = $1 AND (grade = $2 OR $2 = 0) ORDER BY grade, sort, id`,
		int64(subject), grade)
	if err != nil {
		return nil, fmt.Errorf("storage: list knowledge points: %w", err)
	}
	defer r.Close()
	out := []KnowledgePoint{}
	for r.Next() {
		var k KnowledgePoint
		if err := r.Scan((*int64)(&k.ID), (*int64)(&k.SubjectID), &k.Grade, (*int64)(&k.ParentID), &k.Code, &k.Name, &k.Sort); err != nil {
			return nil, fmt.Errorf("storage: list knowledge points: %w", err)
		}
		out = append(out, k)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: list knowledge points: %w", err)
	}
	return out, nil
}

// kpNode is a knowledge point as stored or as imported, keyed by code.
type kpNode struct {
	id     KnowledgePointID
	grade  int
	parent string // parent code, "" for a root
	name   string
	sort   int
	stored bool // read from the database (not created by this import)
}

// ImportKnowledgePoints upserts nodes by (subject, code), all or nothing.
// A parent is named by code within the same subject; it may come later in
// the batch or already be stored. Unknown parents and cycles are
// *FieldErrors. One "knowledge.import" activity row records the import,
// its Value the number of nodes created or changed.
func (s *Store) ImportKnowledgePoints(ctx context.Context, a Actor, rows []KnowledgePointRow) (ImportCounts, error) {
	var counts ImportCounts
	err := s.tx(ctx, func(q querier) error {
		counts = ImportCounts{}
		subjects, err := listSubjects(ctx, q)
		if err != nil {
			return err
		}
		subjectByCode := make(map[string]SubjectID, len(subjects))
		for _, sub := range subjects {
			subjectByCode[sub.Code] = sub.ID
		}
		// Group the batch by subject, checking each row.
		batch := map[SubjectID]map[string]kpNode{}
		var order []struct {
			sub  SubjectID
			code string
		}
		for i, r := range rows {
			at := func(field, msg string, args ...any) error {
				return &FieldError{Field: field, Message: fmt.Sprintf("row %d: ", i+1) + fmt.Sprintf(msg, args...)}
			}
			sub, ok := subjectByCode[strings.TrimSpace(r.SubjectCode)]
			code, parent, name := strings.TrimSpace(r.Code), strings.TrimSpace(r.ParentCode), strings.TrimSpace(r.Name)
			switch {
			case !ok:
				return at("subject", "no such subject %q", r.SubjectCode)
			case code == "":
				return at("code", "is required")
			case name == "":
				return at("name", "is required")
			case r.Grade < 0 || r.Grade > 12:
				return at("grade", "must be between 1 and 12")
			case parent == code:
				return at("parent_code", "%q is its own parent", code)
			}
			if batch[sub] == nil {
				batch[sub] = map[string]kpNode{}
			}
			if _, dup := batch[sub][code]; dup {
				return at("code", "%q appears twice", code)
			}
			batch[sub][code] = kpNode{grade: r.Grade, parent: parent, name: name, sort: r.Sort}
			order = append(order, struct {
				sub  SubjectID
				code string
			}{sub, code})
		}
		// The stored trees of those subjects.
		stored := map[SubjectID]map[string]kpNode{}
		for sub := range batch {
			nodes, err := loadKnowledgeTree(ctx, q, sub)
			if err != nil {
				return err
			}
			stored[sub] = nodes
		}
		// Check parents and cycles on the tree as it will be.
		for sub, nodes := range batch {
			parentOf := func(code string) (string, bool) {
				if n, ok := nodes[code]; ok {
					return n.parent, true
				}
				n, ok := stored[sub][code]
				return n.parent, ok
			}
			for code, n := range nodes {
				if n.parent == "" {
					continue
				}
				if _, ok := parentOf(n.parent); !ok {
					return &FieldError{Field: "parent_code", Message: fmt.Sprintf("%q: no such parent %q", code, n.parent)}
				}
				seen := map[string]bool{code: true}
				for p := n.parent; p != ""; p, _ = parentOf(p) {
					if seen[p] {
						return &FieldError{Field: "parent_code", Message: fmt.Sprintf("%q: parents form a cycle", code)}
					}
					seen[p] = true
				}
			}
		}
		// Insert the new nodes (without parents, which may not exist yet),
		// then set parents and the changed fields.
		for _, o := range order {
			if _, ok := stored[o.sub][o.code]; ok {
				continue
			}
			n := batch[o.sub][o.code]
			if err := q.queryRow(ctx, `INSERT INTO knowledge_points (subject_id, grade, code, name, sort)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, int64(o.sub), n.grade, o.code, n.name, n.sort).
				Scan((*int64)(&n.id)); err != nil {
				return mapErr(err, map[string]string{"code": o.code})
			}
			n.parent = ""
			stored[o.sub][o.code] = n
			counts.Created++
		}
		for _, o := range order {
			n, old := batch[o.sub][o.code], stored[o.sub][o.code]
			var parentID KnowledgePointID
			if n.parent != "" {
				parentID = stored[o.sub][n.parent].id
			}
			if n.grade == old.grade && n.name == old.name && n.sort == old.sort && n.parent == old.parent {
				if old.stored {
					counts.Unchanged++
				}
				continue
			}
			if _, err := q.exec(ctx, `UPDATE knowledge_points SET grade = $2, name = $3, sort = $4, parent_id = $5 WHERE id = $1`,
				int64(old.id), n.grade, n.name, n.sort, nullID(parentID)); err != nil {
				return err
			}
			if old.stored {
				counts.Updated++
			}
		}
		return s.logChange(ctx, q, a, Activity{Action: "knowledge.import", Value: int64(counts.Created + counts.Updated)},
			map[string]any{"rows": len(rows), "created": counts.Created, "updated": counts.Updated}, nil)
	})
	if err != nil {
		return ImportCounts{}, fmt.Errorf("storage: import knowledge points: %w", err)
	}
	return counts, nil
}

func loadKnowledgeTree(ctx context.Context, q querier, sub SubjectID) (map[string]kpNode, error) {
	r, err := q.query(ctx, `SELECT k.id, k.grade, COALESCE(p.code, ''), k.name, k.sort, k.code
		FROM knowledge_points k LEFT JOIN knowledge_points p ON p.id = k.parent_id WHERE k.subject_id = $1`, int64(sub))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]kpNode{}
	for r.Next() {
		var n kpNode
		var code string
		if err := r.Scan((*int64)(&n.id), &n.grade, &n.parent, &n.name, &n.sort, &code); err != nil {
			return nil, err
		}
		n.stored = true
		out[code] = n
	}
	return out, r.Err()
}
