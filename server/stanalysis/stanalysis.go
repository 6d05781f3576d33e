// Package stanalysis is the S-T analysis of a lesson (S-T 分析): from the
// stretches of speech of each participant it codes the lesson at a fixed
// interval — T when the teacher's voice dominates the window, S otherwise
// (students speaking, discussion, practice, silence) — and summarises the
// codes as the teacher-talk ratio Rt, the conversion ratio Ch and the
// lesson's mode. docs/st-analysis.md gives the formulas; the package is
// pure computation, with no storage and no HTTP.
package stanalysis

import (
	"cmp"
	"slices"
)

// Code is the code of one sample: S or T.
type Code string

// The two codes.
const (
	S Code = "S"
	T Code = "T"
)

// Valid reports whether c is S or T.
func (c Code) Valid() bool { return c == S || c == T }

// Mode is the kind of lesson the codes describe.
type Mode string

// The modes, with the thresholds of the classic S-T analysis.
const (
	ModeNone     Mode = ""         // no samples
	ModePractice Mode = "practice" // 练习型: Rt ≤ 0.3
	ModeLecture  Mode = "lecture"  // 讲授型: Rt ≥ 0.7
	ModeDialogue Mode = "dialogue" // 对话型: Ch ≥ 0.4
	ModeMixed    Mode = "mixed"    // 混合型: everything else
)

// Thresholds of the modes.
const (
	PracticeMaxRt = 0.3
	LectureMinRt  = 0.7
	DialogueMinCh = 0.4
)

// Limits of the input: a longer recording is analysed up to MaxDuration; an
// interval outside [MinInterval, MaxInterval] is brought inside.
const (
	MinIntervalMS   int64 = 5_000
	MaxIntervalMS   int64 = 600_000
	DefaultInterval int64 = 30_000
	MaxDurationMS   int64 = 24 * 3600 * 1000
)

// Interval is a stretch of one participant's speech, in ms from the start
// of the recording. Teacher says whether the participant was the teacher.
type Interval struct {
	Teacher bool
	StartMS int64
	EndMS   int64
}

// Sample is one coded window [StartMS, EndMS).
type Sample struct {
	Index   int   `json:"index"`
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
	// TeacherMS and StudentMS are how long the teacher, and any student,
	// spoke in the window (overlapping speech of several students counts
	// once).
	TeacherMS int64 `json:"teacher_ms"`
	StudentMS int64 `json:"student_ms"`
	Code      Code  `json:"code"`
}

// Result sums up a sequence of codes.
type Result struct {
	N    int     `json:"n"`    // samples
	NT   int     `json:"n_t"`  // samples coded T
	Runs int     `json:"runs"` // g: maximal runs of equal codes
	Rt   float64 `json:"rt"`   // N_T / N
	Ch   float64 `json:"ch"`   // (g − 1) / N
	Mode Mode    `json:"mode"`
}

// Dominates reports whether the teacher's voice dominates a window of
// length windowMS in which the teacher spoke teacherMS and students
// studentMS: the teacher spoke at least half of the window, and longer than
// the students.
func Dominates(teacherMS, studentMS, windowMS int64) bool {
	return teacherMS > studentMS && 2*teacherMS >= windowMS && teacherMS > 0
}

// Analyse codes a recording of durationMS every intervalMS from its
// speaking intervals. A duration ≤ 0 is taken from the latest end of
// speech. Intervals that are empty, reversed or outside the recording are
// ignored or clipped; overlapping ones count once. A last window shorter
// than half the interval is left out.
func Analyse(iv []Interval, durationMS, intervalMS int64) []Sample {
	intervalMS = min(max(intervalMS, MinIntervalMS), MaxIntervalMS)
	if durationMS <= 0 {
		for _, x := range iv {
			durationMS = max(durationMS, x.EndMS)
		}
	}
	durationMS = min(durationMS, MaxDurationMS)
	if durationMS <= 0 {
		return []Sample{}
	}
	var teacher, student []span
	for _, x := range iv {
		s, e := max(x.StartMS, 0), min(x.EndMS, durationMS)
		if e <= s {
			continue
		}
		if x.Teacher {
			teacher = append(teacher, span{s, e})
		} else {
			student = append(student, span{s, e})
		}
	}
	teacher, student = merge(teacher), merge(student)
	n := durationMS / intervalMS
	if rest := durationMS % intervalMS; 2*rest >= intervalMS {
		n++
	}
	out := make([]Sample, 0, n)
	var ti, si int
	for i := range n {
		s := i * intervalMS
		e := min(s+intervalMS, durationMS)
		sm := Sample{Index: int(i), StartMS: s, EndMS: e}
		sm.TeacherMS, ti = covered(teacher, ti, s, e)
		sm.StudentMS, si = covered(student, si, s, e)
		sm.Code = S
		if Dominates(sm.TeacherMS, sm.StudentMS, e-s) {
			sm.Code = T
		}
		out = append(out, sm)
	}
	return out
}

type span struct{ s, e int64 }

// merge sorts spans and joins those that overlap or touch.
func merge(in []span) []span {
	slices.SortFunc(in, func(a, b span) int { return cmp.Compare(a.s, b.s) })
	out := in[:0]
	for _, x := range in {
		if k := len(out) - 1; k >= 0 && x.s <= out[k].e {
			out[k].e = max(out[k].e, x.e)
			continue
		}
		out = append(out, x)
	}
	return out
}

// covered is how much of [s, e) the sorted, disjoint spans cover, starting
// the search at index from; it returns the index to start the next, later
// window at.
func covered(sp []span, from int, s, e int64) (int64, int) {
	for from < len(sp) && sp[from].e <= s {
		from++
	}
	var total int64
	for i := from; i < len(sp) && sp[i].s < e; i++ {
		total += min(sp[i].e, e) - max(sp[i].s, s)
	}
	return total, from
}

// Summarise computes N, N_T, the runs g, Rt, Ch and the mode of codes.
func Summarise(codes []Code) Result {
	r := Result{N: len(codes)}
	for i, c := range codes {
		if c == T {
			r.NT++
		}
		if i == 0 || c != codes[i-1] {
			r.Runs++
		}
	}
	if r.N == 0 {
		return r
	}
	r.Rt = float64(r.NT) / float64(r.N)
	r.Ch = float64(r.Runs-1) / float64(r.N)
	r.Mode = ModeOf(r.Rt, r.Ch)
	return r
}

// ModeOf is the mode of a lesson with ratios rt and ch, the rules taken in
// order: practice, lecture, dialogue, mixed.
func ModeOf(rt, ch float64) Mode {
	switch {
	case rt <= PracticeMaxRt:
		return ModePractice
	case rt >= LectureMinRt:
		return ModeLecture
	case ch >= DialogueMinCh:
		return ModeDialogue
	}
	return ModeMixed
}

// Codes lists the codes of samples.
func Codes(samples []Sample) []Code {
	out := make([]Code, len(samples))
	for i, s := range samples {
		out[i] = s.Code
	}
	return out
}

// Point is a point of the S-T curve: after a sample, how many samples so far
// were S (x) and T (y).
type Point struct {
	S int `json:"s"`
	T int `json:"t"`
}

// Curve is the S-T curve of codes: from (0, 0), one step right for each S,
// one step up for each T.
func Curve(codes []Code) []Point {
	out := make([]Point, 0, len(codes)+1)
	p := Point{}
	out = append(out, p)
	for _, c := range codes {
		if c == T {
			p.T++
		} else {
			p.S++
		}
		out = append(out, p)
	}
	return out
}
