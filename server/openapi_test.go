package server_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes: every registered API route is in
// /api/v1/openapi.json and every documented operation is a route; every
// $ref resolves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	r := newAPI(t, srv).must(200, "GET", "/api/v1/openapi.json", nil, nil)
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas   map[string]any `json:"schemas"`
			Responses map[string]any `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s %s has no responses", method, path)
			}
		}
	}
	routes := map[string]bool{}
	for _, rt := range srv.APIRoutes() {
		routes[rt.Method+" "+rt.Path] = true
		if !documented[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s is not in openapi.json", rt.Method, rt.Path)
		}
	}
	var extra []string
	for op := range documented {
		if !routes[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(extra)
	for _, op := range extra {
		t.Errorf("openapi.json documents %s, which is no route", op)
	}
	for _, name := range []string{"School", "User", "Me", "Subject", "KnowledgePoint", "Target", "Activity", "ActivityBucket", "ImportResult", "Error"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas has no %s", name)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				var set map[string]any
				switch parts[0] {
				case "schemas":
					set = doc.Components.Schemas
				case "responses":
					set = doc.Components.Responses
				}
				if len(parts) != 2 || set == nil || set[parts[1]] == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var all any
	_ = json.Unmarshal(r.body, &all)
	walk(all)
}
