package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// apiClient is the engine's typed client with the run's token minter.
type apiClient struct {
	*apiclient.Client
	minter *apiclient.Minter
}

func newAPIClient(api, sim string, secret []byte) *apiClient {
	// Enough idle connections for every concurrent caller: the benchmark
	// must not measure TCP handshakes a real client pool would not make.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 512
	return &apiClient{Client: apiclient.NewClient(api, sim, &http.Client{Timeout: 2 * time.Minute, Transport: tr}),
		minter: apiclient.NewMinter(secret, 6*time.Hour)}
}

// token mints (once) an API token for sub in role.
func (c *apiClient) token(sub string, role kyc.Role) string {
	t, err := c.minter.Token(sub, role)
	if err != nil {
		panic(fmt.Sprintf("mint a token: %v", err)) // only a too-short secret fails, which setup rules out
	}
	return t
}

func (c *apiClient) service() string { return c.token("bench-backend", kyc.RoleService) }
