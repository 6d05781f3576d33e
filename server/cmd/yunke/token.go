package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/livekit/protocol/auth"

	"yunke/server/config"
	"yunke/server/token"
)

const tokenSynopsis = `
Usage: yunke token --room ROOM --identity ID [flags]

Mints an access token that livekit-client (or any LiveKit SDK) presents to a
Yunke server. Roles: teacher (publishes, administers the room), student
(subscribes and chats; publishes once brought on stage), observer (watches,
hidden).

  yunke token --dev --room math-7 --identity t1 --name 王老师 --role teacher
  YUNKE_API_KEY=k YUNKE_API_SECRET=s yunke token --room math-7 --identity s1 --json
`

// defaultURL is the address a dev server listens on, given as a hint.
const defaultURL = "ws://127.0.0.1:7880"

func tokenCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", tokenSynopsis, stderr)
	var (
		apiKey    = fs.String("api-key", "", "API key (env YUNKE_API_KEY; "+config.DevAPIKey+" with --dev)")
		apiSecret = fs.String("api-secret", "", "API secret (env YUNKE_API_SECRET; "+config.DevAPISecret+" with --dev)")
		dev       = fs.Bool("dev", false, "use the dev server's key and secret")
		room      = fs.String("room", "", "room `name` (required)")
		identity  = fs.String("identity", "", "participant `id`, unique in the room (required)")
		name      = fs.String("name", "", "display `name`")
		role      = fs.String("role", string(token.RoleStudent), "`role`: teacher, student or observer")
		validFor  = fs.Duration("valid-for", token.DefaultValidFor, "how long the token is valid (1m..24h)")
		metadata  = fs.String("metadata", "", "participant metadata, e.g. JSON")
		url       = fs.String("url", "", "server URL to put in the --json output (env YUNKE_URL; default "+defaultURL+")")
		asJSON    = fs.Bool("json", false, "print a JSON object with url, token, room, identity, role and expires_at")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := token.ParseRole(*role)
	if err != nil {
		return usageError{err}
	}

	key, secret := first(*apiKey, os.Getenv("YUNKE_API_KEY")), first(*apiSecret, os.Getenv("YUNKE_API_SECRET"))
	if *dev {
		key, secret = first(key, config.DevAPIKey), first(secret, config.DevAPISecret)
	}
	if key == "" || secret == "" {
		return usageError{errors.New("give --api-key and --api-secret (or YUNKE_API_KEY and YUNKE_API_SECRET, or --dev)")}
	}

	jwt, err := token.Mint(key, secret, token.Params{
		Room: *room, Identity: *identity, Name: *name, Role: r, ValidFor: *validFor, Metadata: *metadata,
	})
	if errors.Is(err, token.ErrInvalid) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if !*asJSON {
		_, err = fmt.Fprintln(stdout, jwt)
		return err
	}

	expires, err := expiry(jwt, secret)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		URL       string    `json:"url"`
		Token     string    `json:"token"`
		Room      string    `json:"room"`
		Identity  string    `json:"identity"`
		Role      string    `json:"role"`
		ExpiresAt time.Time `json:"expires_at"`
	}{first(*url, os.Getenv("YUNKE_URL"), defaultURL), jwt, *room, *identity, string(r), expires})
}

// expiry reads the exact expiry back out of a token just minted.
func expiry(jwt, secret string) (time.Time, error) {
	v, err := auth.ParseAPIToken(jwt)
	if err != nil {
		return time.Time{}, err
	}
	claims, _, err := v.Verify(secret)
	if err != nil {
		return time.Time{}, err
	}
	return claims.ExpiresAt.UTC(), nil
}

// first returns the first non-empty string.
func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
