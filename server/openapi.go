package server

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPI is the machine-readable API description, written by hand next to
// docs/api.md; a test checks that it names exactly the routes registered.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	_, _ = w.Write(openAPI)
	return nil
}
