package storage

import (
	"context"
	"fmt"
	"time"
)

// STResult is the automatic S-T result of a finished recording, stored
// when its speaking data is final (server/recording computes it with
// server/stanalysis): the statistics count lessons per mode from it.
type STResult struct {
	RecordingID RecordingID `json:"recording_id"`
	IntervalMS  int64       `json:"interval_ms"`
	Samples     int         `json:"samples"`
	// Mode is lecture, practice, dialogue or mixed; "" when no speech was
	// heard at all (the recording has no speaking data).
	Mode       string    `json:"mode"`
	Rt         float64   `json:"rt"`
	Ch         float64   `json:"ch"`
	ComputedAt time.Time `json:"computed_at"`
}

// STModes are the modes an STResult may have besides "".
var STModes = []string{"lecture", "practice", "dialogue", "mixed"}

// SaveSTResult stores (or replaces) a recording's automatic S-T result.
func (s *Store) SaveSTResult(ctx context.Context, r STResult) error {
	err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO recording_st (recording_id, interval_ms, samples, mode, rt, ch, computed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (recording_id) DO UPDATE SET interval_ms = excluded.interval_ms,
			samples = excluded.samples, mode = excluded.mode, rt = excluded.rt, ch = excluded.ch, computed_at = excluded.computed_at`,
			int64(r.RecordingID), r.IntervalMS, r.Samples, r.Mode, r.Rt, r.Ch, ms(r.ComputedAt))
		return mapErr(err, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: S-T result of recording %d: %w", r.RecordingID, err)
	}
	return nil
}

// GetSTResult reads a recording's stored S-T result (ErrNotFound: none yet).
func (s *Store) GetSTResult(ctx context.Context, id RecordingID) (STResult, error) {
	r := STResult{RecordingID: id}
	var at int64
	err := s.r().queryRow(ctx, `SELECT interval_ms, samples, mode, rt, ch, computed_at FROM recording_st WHERE recording_id = $1`,
		int64(id)).Scan(&r.IntervalMS, &r.Samples, &r.Mode, &r.Rt, &r.Ch, &at)
	if isNoRows(err) {
		return r, fmt.Errorf("storage: S-T result of recording %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("storage: S-T result of recording %d: %w", id, err)
	}
	r.ComputedAt = fromMS(at)
	return r, nil
}

// RecordingsWithoutST lists up to limit finished recordings (ready or
// interrupted) that have no stored S-T result, oldest first.
func (s *Store) RecordingsWithoutST(ctx context.Context, limit int) ([]RecordingID, error) {
	rs, err := s.r().query(ctx, `SELECT r.id FROM recordings r WHERE r.status IN ('ready', 'interrupted')
		AND NOT EXISTS (SELECT 1 FROM recording_st x WHERE x.recording_id = r.id) ORDER BY r.id LIMIT $1`, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("storage: recordings without S-T result: %w", err)
	}
	defer rs.Close()
	out := []RecordingID{}
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return nil, fmt.Errorf("storage: recordings without S-T result: %w", err)
		}
		out = append(out, RecordingID(id))
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: recordings without S-T result: %w", err)
	}
	return out, nil
}
