package stanalysis

import (
	"math"
	"strings"
	"testing"
)

// script builds speaking intervals from a string of codes, one per 30 s
// window: 'T' the teacher speaks the whole window, 'S' a student does,
// 'D' two students talk over each other, '.' silence, 't' the teacher
// speaks 40 % of it (not dominant), 'h' the teacher speaks exactly half.
func script(codes string) ([]Interval, int64) {
	const w = 30_000
	var iv []Interval
	for i, c := range codes {
		s := int64(i) * w
		switch c {
		case 'T':
			// Two overlapping intervals of the teacher count once.
			iv = append(iv, Interval{Teacher: true, StartMS: s, EndMS: s + 20_000}, Interval{Teacher: true, StartMS: s + 10_000, EndMS: s + w})
		case 'S':
			iv = append(iv, Interval{StartMS: s, EndMS: s + w})
		case 'D':
			iv = append(iv, Interval{StartMS: s, EndMS: s + 20_000}, Interval{StartMS: s + 5_000, EndMS: s + w})
		case 't':
			iv = append(iv, Interval{Teacher: true, StartMS: s, EndMS: s + 12_000})
		case 'h':
			iv = append(iv, Interval{Teacher: true, StartMS: s, EndMS: s + 15_000}, Interval{StartMS: s + 15_000, EndMS: s + 20_000})
		}
	}
	return iv, int64(len(codes)) * w
}

func codeString(cs []Code) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(string(c))
	}
	return b.String()
}

func TestSyntheticPatterns(t *testing.T) {
	for _, c := range []struct {
		name     string
		script   string
		codes    string
		nt, runs int
		rt, ch   float64
		mode     Mode
	}{
		{"pure lecture", strings.Repeat("T", 80), strings.Repeat("T", 80), 80, 1, 1, 0, ModeLecture},
		{"pure practice", "TT" + strings.Repeat("S", 30) + strings.Repeat(".", 30) + strings.Repeat("D", 18),
			"TT" + strings.Repeat("S", 78), 2, 2, 2.0 / 80, 1.0 / 80, ModePractice},
		{"strict alternation", strings.Repeat("TS", 40), strings.Repeat("TS", 40), 40, 80, 0.5, 79.0 / 80, ModeDialogue},
		{"scripted mix", "TTTTT" + "SS.D" + "ThT" + "St" + "TTTT" + "S.", "TTTTT" + "SSSS" + "TTT" + "SS" + "TTTT" + "SS",
			12, 6, 0.6, 0.25, ModeMixed},
		{"boundary: Rt exactly 0.3 is practice", "TTT" + strings.Repeat("S", 7), "TTTSSSSSSS", 3, 2, 0.3, 0.1, ModePractice},
		{"boundary: Rt exactly 0.7 is lecture", strings.Repeat("TS", 3) + "TTTT", "TSTSTSTTTT", 7, 7, 0.7, 0.6, ModeLecture},
	} {
		t.Run(c.name, func(t *testing.T) {
			iv, d := script(c.script)
			samples := Analyse(iv, d, DefaultInterval)
			got := codeString(Codes(samples))
			if got != c.codes {
				t.Fatalf("codes\n got %s\nwant %s", got, c.codes)
			}
			r := Summarise(Codes(samples))
			if r.N != len(c.codes) || r.NT != c.nt || r.Runs != c.runs || r.Rt != c.rt || r.Ch != c.ch || r.Mode != c.mode {
				t.Fatalf("result %+v, want N=%d N_T=%d g=%d Rt=%v Ch=%v mode=%s", r, len(c.codes), c.nt, c.runs, c.rt, c.ch, c.mode)
			}
		})
	}
}

func TestModeBoundaries(t *testing.T) {
	// Rt = 10/20 = 0.5, g = 9 → Ch = 8/20 = 0.4: dialogue at the threshold.
	codes := []Code{T, T, T, S, S, T, T, S, S, T, T, S, S, S, T, T, S, S, S, T}
	r := Summarise(codes)
	if r.N != 20 || r.NT != 10 || r.Runs != 9 || r.Rt != 0.5 || r.Ch != 0.4 || r.Mode != ModeDialogue {
		t.Fatalf("%+v, want Rt 0.5, g 9, Ch 0.4, dialogue", r)
	}
	// One run fewer: Ch = 7/20 < 0.4, mixed.
	codes[19] = S
	if r := Summarise(codes); r.Runs != 8 || r.Mode != ModeMixed {
		t.Fatalf("%+v, want g 8, mixed", r)
	}
	if r := Summarise(nil); r.N != 0 || r.Mode != ModeNone || r.Rt != 0 || r.Ch != 0 {
		t.Fatalf("empty: %+v", r)
	}
	for _, c := range []struct {
		rt, ch float64
		want   Mode
	}{{0.3, 0.9, ModePractice}, {0.31, 0.1, ModeMixed}, {0.7, 0.9, ModeLecture}, {0.69, 0.4, ModeDialogue}, {0.69, 0.39, ModeMixed}} {
		if got := ModeOf(c.rt, c.ch); got != c.want {
			t.Errorf("ModeOf(%v, %v) = %s, want %s", c.rt, c.ch, got, c.want)
		}
	}
}

func TestDominance(t *testing.T) {
	for _, c := range []struct {
		teacher, student, window int64
		want                     bool
	}{
		{15_000, 5_000, 30_000, true},   // half the window, more than students
		{14_999, 0, 30_000, false},      // under half
		{20_000, 20_000, 30_000, false}, // no more than the students
		{0, 0, 30_000, false},           // silence is S
		{0, 0, 0, false},
	} {
		if got := Dominates(c.teacher, c.student, c.window); got != c.want {
			t.Errorf("Dominates(%d, %d, %d) = %v", c.teacher, c.student, c.window, got)
		}
	}
}

func TestWindows(t *testing.T) {
	// 95 s at 30 s: three whole windows; the last 5 s (< 15 s) are left out.
	s := Analyse([]Interval{{Teacher: true, StartMS: 0, EndMS: 95_000}}, 95_000, 30_000)
	if len(s) != 3 || s[2].EndMS != 90_000 {
		t.Fatalf("95 s: %+v", s)
	}
	// 105 s: the last 15 s make a fourth, shorter window [90, 105).
	s = Analyse([]Interval{{Teacher: true, StartMS: 0, EndMS: 105_000}}, 105_000, 30_000)
	if len(s) != 4 || s[3].StartMS != 90_000 || s[3].EndMS != 105_000 || s[3].TeacherMS != 15_000 || s[3].Code != T {
		t.Fatalf("105 s: %+v", s)
	}
	// Without a duration, the latest end of speech; intervals clipped to it.
	s = Analyse([]Interval{{Teacher: true, StartMS: -5_000, EndMS: 10_000}, {StartMS: 10_000, EndMS: 60_000}}, 0, 30_000)
	if len(s) != 2 || s[0].TeacherMS != 10_000 || s[0].StudentMS != 20_000 || s[0].Code != S || s[1].StudentMS != 30_000 {
		t.Fatalf("no duration: %+v", s)
	}
	// The interval is brought inside its limits.
	if s := Analyse(nil, 60_000, 1); len(s) != 12 {
		t.Fatalf("1 ms interval: %d samples, want 12 (5 s)", len(s))
	}
	if s := Analyse(nil, 0, 30_000); len(s) != 0 {
		t.Fatalf("nothing: %+v", s)
	}
}

func TestCurve(t *testing.T) {
	got := Curve([]Code{T, T, S, T, S})
	want := []Point{{0, 0}, {0, 1}, {0, 2}, {1, 2}, {1, 3}, {2, 3}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}

// FuzzAnalyse feeds garbage intervals (overlapping, reversed, negative,
// huge) and checks what must always hold.
func FuzzAnalyse(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, int64(60_000), int64(30_000))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80, 1}, int64(math.MaxInt64), int64(-1))
	f.Add([]byte{}, int64(-5), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, data []byte, duration, interval int64) {
		var iv []Interval
		for len(data) >= 17 {
			var a, b int64
			for i := range 8 {
				a |= int64(data[i]) << (8 * i)
				b |= int64(data[8+i]) << (8 * i)
			}
			iv = append(iv, Interval{Teacher: data[16]&1 == 1, StartMS: a, EndMS: b})
			data = data[17:]
		}
		samples := Analyse(iv, duration, interval)
		w := min(max(interval, MinIntervalMS), MaxIntervalMS)
		if int64(len(samples)) > MaxDurationMS/MinIntervalMS+1 {
			t.Fatalf("%d samples", len(samples))
		}
		nt := 0
		for i, s := range samples {
			if s.Index != i || s.EndMS <= s.StartMS || s.EndMS-s.StartMS > w || s.StartMS != int64(i)*w {
				t.Fatalf("sample %d: %+v (interval %d)", i, s, w)
			}
			if s.TeacherMS < 0 || s.StudentMS < 0 || s.TeacherMS > s.EndMS-s.StartMS || s.StudentMS > s.EndMS-s.StartMS {
				t.Fatalf("sample %d: %+v", i, s)
			}
			if !s.Code.Valid() || (s.Code == T) != Dominates(s.TeacherMS, s.StudentMS, s.EndMS-s.StartMS) {
				t.Fatalf("sample %d: %+v", i, s)
			}
			if s.Code == T {
				nt++
			}
		}
		r := Summarise(Codes(samples))
		if r.N != len(samples) || r.NT != nt || r.Rt < 0 || r.Rt > 1 || r.Ch < 0 || r.Ch >= 1 && r.N > 0 || math.IsNaN(r.Rt) || math.IsNaN(r.Ch) {
			t.Fatalf("result %+v", r)
		}
		if (r.N == 0) != (r.Mode == ModeNone) {
			t.Fatalf("result %+v", r)
		}
		if c := Curve(Codes(samples)); len(c) != r.N+1 || c[len(c)-1].T != r.NT || c[len(c)-1].S != r.N-r.NT {
			t.Fatalf("curve ends at %v, result %+v", c[len(c)-1], r)
		}
	})
}
