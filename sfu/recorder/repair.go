package recorder

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoFrames is returned by Repair when a file holds no complete frame.
var ErrNoFrames = errors.New("recorder: no complete frame in the file")

// RepairResult says what Repair kept.
type RepairResult struct {
	// Frames and DurationMS are what the repaired file plays.
	Frames     int64 `json:"frames"`
	DurationMS int64 `json:"duration_ms"`
	// Size is the repaired file's size; Removed how many octets after the
	// last complete frame were dropped (a cut frame, garbage after a power
	// loss, or the Cues of a finished file, which are written anew).
	Size    int64 `json:"size"`
	Removed int64 `json:"removed"`
	// OffsetMS is when the file's first frame plays on the recording's
	// timeline, from the file's own tag; HasOffset says the tag is there.
	OffsetMS  int64 `json:"offset_ms"`
	HasOffset bool  `json:"has_offset"`
}

// Repair finishes a recording cut short (by a crash, a kill, a power loss
// or a full disk): it keeps every complete frame, cuts the file after the
// last one and closes it as a clean finish would — Cues, sizes and the
// Duration — in place. Repairing a finished file leaves it as it was.
func Repair(path string) (RepairResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return RepairResult{}, fmt.Errorf("repair: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return RepairResult{}, fmt.Errorf("repair: %w", err)
	}
	m, err := openMKV(f, fi.Size())
	if errors.Is(err, errCut) || errors.Is(err, io.EOF) {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, ErrNoFrames)
	}
	if err != nil {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, err)
	}
	if m.lay.durationPos == 0 || m.lay.reserveLen < seekHeadReserve {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, errNotRecording)
	}
	var (
		res  RepairResult
		end  int64
		last = map[uint64][2]int64{} // track → last timestamp, interval before it
	)
	for {
		fr, err := m.next(false)
		if err != nil {
			break
		}
		res.Frames++
		end = fr.end
		l, ok := last[fr.track]
		if ok && fr.tc >= l[0] {
			last[fr.track] = [2]int64{fr.tc, fr.tc - l[0]}
		} else if !ok {
			last[fr.track] = [2]int64{fr.tc, 0}
		}
	}
	if res.Frames == 0 {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, ErrNoFrames)
	}
	if _, ok := m.tags[tagStartOffset]; ok {
		res.OffsetMS, res.HasOffset = m.startOffset(), true
	}
	for _, l := range last {
		res.DurationMS = max(res.DurationMS, l[0]+l[1])
	}
	lay := m.lay
	lay.end = end
	lay.clusters = keepBefore(lay.clusters, end)
	cues := lay.cues[:0]
	for _, c := range lay.cues {
		if c.pos < end {
			cues = append(cues, c)
		}
	}
	lay.cues = cues
	if err := f.Truncate(end); err != nil {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, err)
	}
	if err := finishFile(f, &lay, float64(res.DurationMS)); err != nil {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil {
		res.Size = fi.Size()
	}
	res.Removed = fi.Size() - end
	if err := f.Close(); err != nil {
		return RepairResult{}, fmt.Errorf("repair %s: %w", path, err)
	}
	return res, nil
}

func keepBefore(pos []int64, end int64) []int64 {
	out := pos[:0]
	for _, p := range pos {
		if p < end {
			out = append(out, p)
		}
	}
	return out
}
