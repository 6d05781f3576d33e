package storage

import (
	"context"
	"fmt"
	"strings"
)

// satisfactionConds is the month range and scope of a SatisfactionQuery as
// conditions on a ratings table whose columns month, district_id and
// school_id are reached through prefix ("" or an alias with its dot).
func (s *Store) satisfactionConds(q SatisfactionQuery, prefix string) ([]string, []any) {
	conds := []string{prefix + "month >= $1", prefix + "month <= $2"}
	args := []any{q.FromMonth, q.ToMonth}
	if q.ToMonth == 0 {
		args[1] = 999912
	}
	if q.DistrictID != 0 {
		args = append(args, int64(q.DistrictID))
		conds = append(conds, fmt.Sprintf("%sdistrict_id = $%d", prefix, len(args)))
	}
	if q.SchoolIDs != nil {
		args = append(args, s.d.listArg(ids(q.SchoolIDs)))
		conds = append(conds, s.d.inList(prefix+"school_id", len(args)))
	}
	return conds, args
}

// ratingGroups is one grouping of 1–5 ratings into Satisfaction rows.
type ratingGroups struct {
	what   string // for errors: "class satisfaction"
	key    string // the SQL expression grouped and ordered by
	score  string // the score column
	solved string // an SQL expression summed into Solved; "" for none
	from   string // the FROM clause, tables and joins
	conds  []string
	args   []any
}

// satisfaction counts, per value of g.key, the ratings, their sum and the
// number of each score, and derives the share of ratings ≥ 4 and the mean.
// The rows come ordered by key; none is a nil slice.
func (s *Store) satisfaction(ctx context.Context, g ratingGroups) ([]Satisfaction, error) {
	sc := g.score
	solved := "0"
	if g.solved != "" {
		solved = "SUM(" + g.solved + ")"
	}
	rs, err := s.r().query(ctx, `SELECT `+g.key+`, COUNT(*), SUM(`+sc+`),
		SUM(CASE WHEN `+sc+` = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN `+sc+` = 2 THEN 1 ELSE 0 END),
		SUM(CASE WHEN `+sc+` = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN `+sc+` = 4 THEN 1 ELSE 0 END),
		SUM(CASE WHEN `+sc+` = 5 THEN 1 ELSE 0 END), `+solved+`
		FROM `+g.from+` WHERE `+strings.Join(g.conds, " AND ")+` GROUP BY 1 ORDER BY 1`, g.args...)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", g.what, err)
	}
	defer rs.Close()
	var out []Satisfaction
	for rs.Next() {
		var key any
		var sum int64
		var r Satisfaction
		d := &r.Distribution
		if err := rs.Scan(&key, &r.Ratings, &sum, &d[0], &d[1], &d[2], &d[3], &d[4], &r.Solved); err != nil {
			return nil, fmt.Errorf("storage: %s: %w", g.what, err)
		}
		switch k := key.(type) {
		case string:
			r.Key = k
		case []byte:
			r.Key = string(k)
		default:
			r.Key = fmt.Sprint(k)
		}
		r.Satisfied = d[3] + d[4]
		if r.Ratings > 0 {
			r.Share = float64(r.Satisfied) / float64(r.Ratings)
			r.Mean = float64(sum) / float64(r.Ratings)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", g.what, err)
	}
	return out, nil
}
