package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// openAPIYAML is the OpenAPI 3.1 description of the /v1 API, written by
// hand next to the handlers. Tests keep it true: every route registered in
// routes() must be in it, and every response the API tests see must match
// its schema (openapi_test.go).
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI parses the description (with kin-openapi, which the tests
// validate responses with) and checks it.
func OpenAPI() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}

// openAPIJSON is the description served at /v1/openapi.json, with this
// engine's PUBLIC_BASE_URL as its server.
func (s *Server) openAPIJSON() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: s.d.Config.PublicBaseURL}}
	return json.Marshal(doc)
}

func (s *Server) serveOpenAPI(body []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	}
}
