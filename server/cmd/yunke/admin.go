package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"yunke/server/auth"
	"yunke/storage"
)

const adminSynopsis = `
Usage: yunke admin COMMAND [flags]

Account repairs done on the database directly, for an operator locked out
of the web interface.

Commands:
  reset-password --username U   print a new one-time password for U; U must
                                change it at the next sign-in, and every
                                session of U ends
`

const resetPasswordSynopsis = `
Usage: yunke admin reset-password --username USER [flags]

Sets a new random one-time password for USER, prints it, ends USER's
sessions, and makes USER change the password at the next sign-in.

  yunke admin reset-password --username admin
`

func adminCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlagSet("admin", adminSynopsis, stderr)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return usageError{errors.New("give a command: reset-password")}
	}
	switch args[0] {
	case "reset-password":
		return resetPassword(ctx, args[1:], stdout, stderr)
	}
	return usageError{fmt.Errorf("unknown admin command %q", args[0])}
}

func resetPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin reset-password", resetPasswordSynopsis, stderr)
	db := registerDBFlags(fs)
	username := fs.String("username", "", "the user's `name` (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *username == "" {
		return usageError{errors.New("--username is required")}
	}
	store, _, err := db.open(ctx, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer store.Close()
	cred, err := store.CredentialsByUsername(ctx, *username)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user is called %q", *username)
	}
	if err != nil {
		return err
	}
	pw := auth.GeneratePassword(16)
	hash, err := auth.NewHasher(auth.DefaultParams).Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := store.SetPassword(ctx, storage.Actor{}, cred.User.ID, hash, true); err != nil {
		return err
	}
	if err := store.DeleteUserSessions(ctx, cred.User.ID, ""); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "One-time password for %s: %s\nIt must be changed at the next sign-in.\n", cred.User.Username, pw)
	if !cred.User.Active {
		fmt.Fprintf(stderr, "note: %s is deactivated and cannot sign in until reactivated\n", cred.User.Username)
	}
	return nil
}
