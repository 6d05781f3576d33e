package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"yunke/server/jobs"
)

const backupSynopsis = `
Usage: yunke backup --out FILE [flags]

Writes a consistent copy of the SQLite database to FILE (VACUUM INTO) while
the server may keep running. FILE must not exist yet. A Postgres database
is backed up with pg_dump instead; for it this command prints the command
line to use and fails.

  yunke backup --out /var/backups/yunke-$(date +%F).db
`

func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", backupSynopsis, stderr)
	db := registerDBFlags(fs)
	out := fs.String("out", "", "the backup `file` to write (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{errors.New("--out is required")}
	}
	store, cfg, err := db.open(ctx, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer store.Close()
	if store.Backend() == "postgres" {
		fmt.Fprintf(stderr, "The database is Postgres: back it up with pg_dump, for example\n\n  pg_dump --format=custom --file %s '%s'\n\n", *out, redactURL(cfg.URL))
		return errors.New("backup: Postgres is backed up with pg_dump")
	}
	if err := store.Backup(ctx, *out); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", cfg.Path, *out, st.Size())
	return nil
}

const migrateSynopsis = `
Usage: yunke migrate [flags]

Opens the database, applies the migrations it lacks — Yunke's, then the job
queue's (serve does the same at start) — and prints both schema versions.
`

func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", migrateSynopsis, stderr)
	db := registerDBFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, cfg, err := db.open(ctx, stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	jv, err := jobs.Migrate(ctx, store, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s database %s: schema version %d, job queue version %d\n", store.Backend(), describeDB(cfg), v, jv)
	return nil
}
