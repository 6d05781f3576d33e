// Command yunke is the Yunke server and its tools in one binary:
//
//	yunke [serve] [flags]   run the server (the default)
//	yunke token [flags]     mint an access token
//	yunke import [flags]    import a roster spreadsheet into the database
//	yunke backup --out F    copy the SQLite database
//	yunke migrate           apply database migrations
//	yunke admin …           account repairs, such as reset-password
//	yunke demo-data [flags]  fill the database with demonstration data
//	yunke version           print the version
//	yunke help [command]    show help
//
// Each subcommand is one entry in the commands table below.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"yunke/server/loadtest"
)

// version is set at build time with -ldflags "-X main.version=…". It is the
// release of this binary; the server reports its protocol compatibility
// separately.
var version = "0.1.0"

// commit is the Git commit, set by the Makefile with -X main.commit=…; when
// empty, the Go toolchain's VCS stamp is used if there is one.
var commit = ""

// A command is one subcommand. run gets the arguments after its name; it
// returns flag.ErrHelp after printing help, and a usageError for bad usage.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the subcommand table; the first entry is the default. To add
// one, add a line here (a function so that help can list the table).
func commands() []command {
	return []command{
		{"serve", "run the server (the default command)", serveCommand},
		{"token", "mint an access token for a room", tokenCommand},
		{"import", "import schools, teachers, students or knowledge points from CSV/XLSX", importCommand},
		{"backup", "copy the SQLite database to a file", backupCommand},
		{"migrate", "apply database migrations and print the schema version", migrateCommand},
		{"admin", "account repairs (reset-password)", adminCommand},
		{"demo-data", "fill the database with a district's year of demonstration data", demoDataCommand},
		{"loadtest", "drive simulated classes against a server", loadtest.Command},
		{"version", "print the version", versionCommand},
		{"help", "show help for yunke or one command", helpCommand},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling: a second Ctrl-C kills at once.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the process exit code:
// 0 on success or help, 2 on bad usage, 1 on any other error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	cmd := cmds[0]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c, ok := lookup(args[0])
		if !ok {
			fmt.Fprintf(stderr, "yunke: unknown command %q\n\n", args[0])
			printUsage(stderr)
			return 2
		}
		cmd, args = c, args[1:]
	}
	err := cmd.run(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "yunke %s: %v\nRun 'yunke help %s' for usage.\n", cmd.name, err, cmd.name)
		return 2
	default:
		fmt.Fprintf(stderr, "yunke %s: %v\n", cmd.name, err)
		return 1
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usageError is a mistake on the command line, as opposed to a failure.
type usageError struct{ error }

// parseFlags parses args into fs, mapping flag errors to usageError. The
// flag package has already printed its own message and the usage for them.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// newFlagSet returns a flag set whose usage starts with synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		// Print flags GNU-style (--port); the flag package accepts both - and --.
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
		flags := strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")
		fmt.Fprintf(stderr, "%s\n\nFlags:%s", strings.TrimSpace(synopsis), flags)
	}
	return fs
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Yunke (云课) live-class server %s\n\nUsage:\n  yunke [command] [flags]\n\nCommands:\n", version)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRun 'yunke help <command>' for a command's flags. Quick start: yunke serve --dev")
}

func helpCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch len(args) {
	case 0:
		printUsage(stdout)
		return nil
	case 1:
		c, ok := lookup(args[0])
		if !ok {
			return usageError{fmt.Errorf("unknown command %q", args[0])}
		}
		if c.name == "help" {
			printUsage(stdout)
			return nil
		}
		// Every command prints its usage to its stderr for -h; here help was asked for, so stdout.
		return c.run(ctx, []string{"-h"}, stdout, stdout)
	}
	return usageError{errors.New("help takes at most one command")}
}

func versionCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "Usage: yunke version\n\nPrints the version of this binary.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "yunke %s (%s, %s/%s%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, vcsInfo())
	return nil
}

// vcsInfo returns ", commit abc1234[-dirty]" when the commit is known.
func vcsInfo() string {
	if commit != "" {
		return ", commit " + commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return ", commit " + rev[:min(len(rev), 12)] + dirty
}
