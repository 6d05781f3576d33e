package classes

import (
	"net/http"
	"strconv"

	"yunke/server/httpapi"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// handleImport schedules the classes of a spreadsheet.
func (s *Service) handleImport(w http.ResponseWriter, r *http.Request) error {
	return httpapi.BadRequest("not yet")
}
