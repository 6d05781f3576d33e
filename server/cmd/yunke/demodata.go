package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"yunke/server/auth"
	"yunke/server/demodata"
	"yunke/storage"
)

const demoDataSynopsis = `
Usage: yunke demo-data [--scale S] [--seed N] [--year Y] [flags]

Fills the database with one school district's year of demonstration data,
at the scale of the programmes Yunke was built from (--scale 1): 156
schools of uneven sizes, 12,000 teachers of whom 349 trainees (each records
at least one lesson), 16,000 students, 40 experts, and a year of classes,
recorded lessons and their reviews, 330,448 tutoring sessions, 133,386
questions with 381,720 answers and 1,341 micro-lessons, with the rhythms of
a school year (school hours, evenings, weekends, holidays). The same seed
gives the same data. Everything goes in in one transaction; a summary of
what was generated and the demo accounts' credentials are printed at the end.

It refuses a database that holds anything but demonstration data unless
--force is given, and does nothing when demonstration data is there already.

  yunke demo-data                      full scale into the embedded SQLite file
  yunke demo-data --scale 0.1 --seed 7
  yunke demo-data --database-url postgres://localhost/yunke
`

func demoDataCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo-data", demoDataSynopsis, stderr)
	db := registerDBFlags(fs)
	var (
		scale    = fs.Float64("scale", 1, "`share` of the seeds' figures to generate: 1 is a full year, 0.01 a small one")
		seed     = fs.Uint64("seed", 1, "random `seed`: the same seed gives the same data")
		year     = fs.Int("year", time.Now().In(storage.Zone).Year()-1, "calendar `year` of the activity")
		coverage = fs.Float64("trainee-coverage", 1, "`share` of trainee teachers who record at least one lesson")
		force    = fs.Bool("force", false, "add demonstration data to a database that holds other data")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *scale <= 0 || *scale > 10 {
		return usageError{errors.New("--scale must be above 0 and at most 10")}
	}
	if *year < 2000 || *year > 2100 {
		return usageError{errors.New("--year must be between 2000 and 2100")}
	}
	if *coverage < 0 || *coverage > 1 {
		return usageError{errors.New("--trainee-coverage must be between 0 and 1")}
	}
	store, cfg, err := db.open(ctx, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer store.Close()
	// One hash for every account: hashing thousands of passwords at the
	// normal cost would take longer than the rest together.
	hash, err := auth.NewHasher(auth.DefaultParams).Hash(ctx, demodata.Password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "generating demonstration data (scale %g, seed %d, year %d) into %s …\n", *scale, *seed, *year, describeDB(cfg))
	start := time.Now()
	sum, err := demodata.Generate(ctx, store, demodata.Params{Seed: *seed, Scale: *scale, Year: *year, PasswordHash: hash,
		TraineeCoverage: *coverage, Force: *force})
	switch {
	case errors.Is(err, demodata.ErrAlreadyLoaded):
		fmt.Fprintln(stdout, "The database already holds demonstration data; nothing was changed.")
		printDemoAccounts(stdout)
		return nil
	case err != nil:
		return err
	}
	printDemoSummary(stdout, sum, time.Since(start))
	printDemoAccounts(stdout)
	return nil
}

func printDemoSummary(w io.Writer, s demodata.Summary, took time.Duration) {
	fmt.Fprintf(w, "Generated in %s (scale %g, seed %d, year %d):\n", took.Round(100*time.Millisecond), s.Scale, s.Seed, s.Year)
	for _, l := range []struct {
		n    int64
		what string
	}{
		{int64(s.Districts), "districts"},
		{int64(s.Schools), "primary and secondary schools"},
		{int64(s.Kindergartens), "kindergartens"},
		{int64(s.Teachers), "teachers"},
		{int64(s.Trainees), "trainee teachers"},
		{int64(s.TraineesRecorded), "trainee teachers who recorded"},
		{int64(s.Students), "students"},
		{int64(s.Experts), "experts"},
		{int64(s.Classes), "interactive classes"},
		{int64(s.ClassAttendance), "class attendances"},
		{int64(s.ClassRatings), "class ratings"},
		{int64(s.Recordings), "lessons recorded"},
		{int64(s.TeachersRecording), "teachers recording"},
		{int64(s.RecordingsReviewed), "lessons reviewed"},
		{int64(s.Reviews), "reviews"},
		{int64(s.SpeakingIntervals), "stretches of speech recorded"},
		{int64(s.STModes["lecture"]), "lessons in lecture mode (S-T)"},
		{int64(s.STModes["mixed"]), "lessons in mixed mode (S-T)"},
		{int64(s.STModes["dialogue"]), "lessons in dialogue mode (S-T)"},
		{int64(s.STModes["practice"]), "lessons in practice mode (S-T)"},
		{int64(s.TutoringRequests), "tutoring requests"},
		{int64(s.TutoringUnmatched), "tutoring requests withdrawn unmatched"},
		{int64(s.TutoringSessions), "tutoring sessions"},
		{int64(s.TutoringRatings), "tutoring ratings"},
		{int64(s.Questions), "questions"},
		{int64(s.Answers), "answers"},
		{int64(s.AdoptedQuestions), "questions with an adopted answer"},
		{int64(s.QARatings), "Q&A ratings"},
		{int64(s.QAVotes), "answer votes"},
		{int64(s.QAComments), "Q&A comments"},
		{int64(s.Microlessons), "micro-lessons"},
		{int64(s.MicrolessonsPub), "micro-lessons reviewed and published"},
		{int64(s.Targets), "school targets"},
		{int64(s.SignIns), "sign-ins"},
		{int64(s.ActiveStudents), "students active in the year"},
		{int64(s.ActiveTeachers), "teachers active in the year"},
		{s.ActivityRows, "activity rows"},
	} {
		fmt.Fprintf(w, "%10d  %s\n", l.n, l.what)
	}
}

func printDemoAccounts(w io.Writer) {
	fmt.Fprintf(w, `Demo accounts (password %s):
  %-18s district administrator
  %-18s school administrator of the largest school
  %-18s review expert
  %-18s teacher
  %-18s student
`, demodata.Password, demodata.DistrictAdmin, demodata.SchoolAdmin, demodata.ExpertUser, demodata.TeacherUser, demodata.StudentUser)
}
