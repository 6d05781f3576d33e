package main

import (
	"context"
	"io"
	"os"

	"yunke/server"
	"yunke/server/config"
)

const serveSynopsis = `
Usage: yunke serve [flags]

Runs the Yunke server until SIGINT or SIGTERM. Settings come from, in rising
order: built-in defaults, the YAML file (--config), YUNKE_* environment
variables, then these flags. See docs/configuration.md.

  yunke serve --dev                        local development on 127.0.0.1:7880
  yunke serve --config /etc/yunke/yunke.yaml
`

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	flags := config.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := flags.Load(os.Getenv)
	if err != nil {
		return err
	}
	logger, err := config.Logger(cfg.Logging, stderr)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Params{Config: cfg, Logger: logger, Version: version})
	if err != nil {
		return err
	}
	srv.PrintBanner(stdout)
	return srv.Run(ctx)
}
