// Command devoidc runs the development OpenID Connect provider
// (internal/bank/devoidc) for `make dev` and the browser tests: users agent-7,
// agent-9, auditor-3 and admin-1, one public client for the engine's pages.
//
//	devoidc -addr 127.0.0.1:8095 -client vkyc-pages -redirect http://127.0.0.1:8080/app/agent,http://127.0.0.1:8080/app/audit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/devoidc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8095", "listen address")
	issuer := flag.String("issuer", "", "issuer URL (default http://<addr>)")
	clientID := flag.String("client", "vkyc-pages", "client id of the engine's pages (a public client: PKCE)")
	redirects := flag.String("redirect", "http://127.0.0.1:8080/app/agent,http://127.0.0.1:8080/app/audit", "comma-separated redirect URIs of the client")
	password := flag.String("password", devoidc.DevPassword, "every user's password")
	alg := flag.String("alg", "RS256", "signing algorithm: RS256 or ES256")
	ttl := flag.Duration("token-ttl", time.Hour, "access token lifetime")
	flag.Parse()
	if err := run(*addr, *issuer, *clientID, *redirects, *password, *alg, *ttl); err != nil {
		fmt.Fprintln(os.Stderr, "devoidc:", err)
		os.Exit(1)
	}
}

func run(addr, issuer, clientID, redirects, password, alg string, ttl time.Duration) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	p, err := devoidc.New(devoidc.Config{
		Issuer:         strings.TrimRight(issuer, "/"),
		Users:          devoidc.DevUsers(password),
		Clients:        []devoidc.Client{{ID: clientID, RedirectURIs: strings.Split(redirects, ",")}},
		Algorithm:      alg,
		AccessTokenTTL: ttl,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("development OpenID Connect provider", "issuer", p.Issuer(), "client", clientID, "algorithm", alg)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
