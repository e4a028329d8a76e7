// Package devoidc is the OpenID Connect provider of `make dev` and of the
// tests: a small program of ours on zitadel/oidc's `op` package (the
// protocol: discovery, authorization with PKCE, the token endpoint, JWKS,
// userinfo, all the library's), with what a bank's provider has and the
// library leaves to its user: people with passwords and groups, a login
// page, signing keys (RS256 or ES256) that rotate, in memory.
//
// Why not Dex, the other candidate: its releases since v2.14 are not
// versions the Go module proxy serves under its module path (the last is
// v2.13.0+incompatible, years before static users got groups in v2.45), so
// it would be built from a pseudo-version with a dependency tree
// (Kubernetes client, gRPC, ent) that takes minutes on our 2-core machines;
// and a mock that skips the login page would not test the sign-in people go
// through. This one is a few hundred lines over a maintained OP library,
// runs in-process in the API tests and as a program in `make dev` and the
// browser tests. For development and tests only: the passwords are shown to
// whoever runs it.
package devoidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a person who can sign in.
type User struct {
	ID       string // the subject and the user name
	Name     string
	Password string
	Groups   []string
}

// Client is an application people sign in to.
type Client struct {
	ID           string
	Secret       string // "" for a public client (PKCE)
	RedirectURIs []string
}

// Config is one provider.
type Config struct {
	Issuer  string // scheme://host[:port], where Handler is served
	Users   []User
	Clients []Client
	// Algorithm of the first signing key: RS256 (default) or ES256.
	Algorithm string
	// AccessTokenTTL is the lifetime of access tokens (default 1h).
	AccessTokenTTL time.Duration
}

// The development people: agents, an auditor and an admin, in the groups
// that `make dev` maps to the engine's roles (OIDC_ROLE_MAP).
const (
	GroupAgents   = "vkyc-agents"
	GroupAuditors = "vkyc-auditors"
	GroupAdmins   = "vkyc-admins"
	// DevPassword is every development user's password.
	DevPassword = "vkyc-dev-password" // #nosec G101 -- the shown password of development users
	// RoleMap is OIDC_ROLE_MAP for these groups.
	RoleMap = GroupAgents + "=agent," + GroupAuditors + "=auditor," + GroupAdmins + "=admin"
)

// DevUsers are agent-7, agent-9, auditor-3 and admin-1 with password.
func DevUsers(password string) []User {
	return []User{
		{ID: "agent-7", Name: "Agent Seven", Password: password, Groups: []string{GroupAgents}},
		{ID: "agent-9", Name: "Agent Nine", Password: password, Groups: []string{GroupAgents}},
		{ID: "auditor-3", Name: "Auditor Three", Password: password, Groups: []string{GroupAuditors}},
		{ID: "admin-1", Name: "Admin One", Password: password, Groups: []string{GroupAdmins}},
	}
}

// Provider is a running provider; serve Handler at Config.Issuer.
type Provider struct {
	cfg     Config
	op      *op.Provider
	handler http.Handler
	st      *storage
}

// New builds a provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("devoidc: an issuer is required")
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = string(jose.RS256)
	}
	st := &storage{
		users: map[string]User{}, clients: map[string]Client{},
		requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]string{},
		ttl: cfg.AccessTokenTTL,
	}
	for _, u := range cfg.Users {
		st.users[u.ID] = u
	}
	for _, c := range cfg.Clients {
		st.clients[c.ID] = c
	}
	if _, err := st.rotate(cfg.Algorithm); err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}
	o, err := op.NewProvider(&op.Config{
		CryptoKey:          cryptoKey,
		CodeMethodS256:     true,
		AuthMethodPost:     true,
		SupportedUILocales: []language.Tag{language.English},
	}, st, op.StaticIssuer(cfg.Issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("devoidc: %w", err)
	}
	p := &Provider{cfg: cfg, op: o, st: st}
	mux := http.NewServeMux()
	l := &login{st: st, callback: op.AuthCallbackURL(o), formAction: formAction(cfg.Clients)}
	mux.HandleFunc("GET /login", l.page)
	mux.Handle("POST /login", op.NewIssuerInterceptor(o.IssuerFromRequest).HandlerFunc(l.submit))
	mux.Handle("/", o)
	p.handler = mux
	return p, nil
}

// Handler serves the provider: discovery, /authorize, /oauth/token, /keys,
// /userinfo, and the login page.
func (p *Provider) Handler() http.Handler { return p.handler }

// Issuer is the issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Rotate makes a new signing key of alg (RS256 or ES256) the one tokens are
// signed with from now on; earlier keys stay published, so tokens already
// handed out stay valid, as a provider's rotation goes. It returns the new
// key's id.
func (p *Provider) Rotate(alg string) (string, error) { return p.st.rotate(alg) }

// signingKey is one key pair; it serves as op.SigningKey (private) and, via
// publicKey, as op.Key.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key.Public() }

// storage is op.Storage in memory.
type storage struct {
	mu       sync.Mutex
	users    map[string]User
	clients  map[string]Client
	requests map[string]*authRequest
	codes    map[string]string // code → request id
	tokens   map[string]string // access token id → subject
	keys     []*signingKey     // the last signs
	ttl      time.Duration
}

func (s *storage) rotate(alg string) (string, error) {
	var key crypto.Signer
	var err error
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return "", fmt.Errorf("devoidc: algorithm %q: want RS256 or ES256", alg)
	}
	if err != nil {
		return "", err
	}
	id := randomID()[:16]
	s.mu.Lock()
	s.keys = append(s.keys, &signingKey{id: id, alg: jose.SignatureAlgorithm(alg), key: key})
	s.mu.Unlock()
	return id, nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errNotFound = errors.New("not found")

func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	req := &authRequest{id: randomID(), req: *r, subject: userID, created: time.Now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Abandoned sign-ins go after 10 minutes.
	for id, old := range s.requests {
		if time.Since(old.created) > 10*time.Minute {
			delete(s.requests, id)
		}
	}
	s.requests[req.id] = req
	return req, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.requests[id]; ok {
		return r, nil
	}
	return nil, errNotFound
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.requests[s.codes[code]]; ok {
		return r, nil
	}
	return nil, errNotFound
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	id := randomID()
	s.mu.Lock()
	s.tokens[id] = r.GetSubject()
	s.mu.Unlock()
	return id, time.Now().Add(s.ttl), nil
}

var errNoRefresh = errors.New("this provider issues no refresh tokens")

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNoRefresh
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNoRefresh
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(_ context.Context, token, _, _ string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1], nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var algs []jose.SignatureAlgorithm
	for _, k := range s.keys {
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	return algs, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, errNotFound
	}
	return client{c}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	c, ok := s.clients[id]
	s.mu.Unlock()
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return errors.New("invalid client credentials")
	}
	return nil
}

// claims are what tokens and userinfo say about a person.
func (s *storage) claims(userID string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return User{}, errNotFound
	}
	return u, nil
}

func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.claims(userID)
	if err != nil {
		return err
	}
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name, info.PreferredUsername = u.Name, u.ID
	}
	info.AppendClaims("groups", u.Groups)
	return nil
}

// tokenSubject is the person an access token was issued to.
func (s *storage) tokenSubject(tokenID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.tokens[tokenID]
	if !ok {
		return "", errNotFound
	}
	return sub, nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	sub, err := s.tokenSubject(tokenID)
	if err != nil {
		return err
	}
	return s.SetUserinfoFromScopes(ctx, info, sub, "", []string{oidc.ScopeProfile})
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	sub, err := s.tokenSubject(tokenID)
	if err != nil {
		return err
	}
	resp.Active, resp.Subject, resp.ClientID = true, sub, clientID
	return nil
}

// GetPrivateClaimsFromScopes puts the person's groups (the engine's role
// claim) and user name into JWT access tokens.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	u, err := s.claims(userID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"groups": u.Groups, "preferred_username": u.ID, "name": u.Name}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// checkLogin signs the person of a pending request in.
func (s *storage) checkLogin(requestID, user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[requestID]
	if !ok {
		return errors.New("this sign-in has expired; start again from the application")
	}
	u, ok := s.users[user]
	// Compare digests, so the time taken says nothing of the password.
	want, got := sha256.Sum256([]byte(u.Password)), sha256.Sum256([]byte(password))
	if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return errors.New("unknown user name or wrong password")
	}
	r.subject, r.authTime, r.done = u.ID, time.Now(), true
	return nil
}

// authRequest is op.AuthRequest.
type authRequest struct {
	id       string
	req      oidc.AuthRequest
	subject  string
	authTime time.Time
	done     bool
	created  time.Time
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string              { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.req.ClientID }
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

// client is op.Client: the code flow only, JWT access tokens.
type client struct{ c Client }

func (c client) GetID() string                    { return c.c.ID }
func (c client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return c.c.RedirectURIs }
func (c client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}

func (c client) AuthMethod() oidc.AuthMethod {
	if c.c.Secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodPost
}
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c client) LoginURL(id string) string           { return "/login?authRequestID=" + id }
func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c client) IDTokenLifetime() time.Duration      { return time.Hour }

// DevMode lets redirect URIs be plain http on any host: this provider
// serves development and tests only.
func (c client) DevMode() bool { return true }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(string) bool           { return false }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }

// Sign signs claims with the current signing key, as the provider's access
// tokens are. Tests use it for tokens the provider would never issue (an
// expired one, one not valid yet, one for another audience), whose
// signatures are nonetheless good.
func (p *Provider) Sign(claims map[string]any) (string, error) {
	k, err := p.st.SigningKey(context.Background())
	if err != nil {
		return "", err
	}
	signer, err := op.SignerFromKey(k)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(b)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
