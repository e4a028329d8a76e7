package hmssim

import (
	"errors"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// 100ms answers every management-token problem with this message and a
// short reason in details; the reasons here never echo the token.
const tokenErrorMessage = "Token validation error"

type peerClaims struct {
	RoomID, Role, UserID string
}

// parseToken checks signature (HS256 with the app secret), exp (required),
// nbf and iat, the access key, the version and the type.
func (s *Server) parseToken(raw, wantType string) (jwt.MapClaims, error) {
	if unverified, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{}); err == nil {
		if alg, _ := unverified.Header["alg"].(string); alg != jwt.SigningMethodHS256.Alg() {
			return nil, errorf(http.StatusUnauthorized, tokenErrorMessage, "signing method must be HS256")
		}
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims,
		func(*jwt.Token) (any, error) { return []byte(s.cfg.AppSecret), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, tokenError(err)
	}
	if ak, _ := claims["access_key"].(string); ak != s.cfg.AccessKey {
		return nil, errorf(http.StatusUnauthorized, tokenErrorMessage, "access_key does not match the app")
	}
	if typ, _ := claims["type"].(string); typ != wantType {
		return nil, errorf(http.StatusUnauthorized, tokenErrorMessage, "token type must be "+wantType)
	}
	// The official SDKs always send version 2 as a number; anything else is a
	// client bug worth surfacing.
	if v, ok := claims["version"].(float64); !ok || v != 2 {
		return nil, errorf(http.StatusUnauthorized, tokenErrorMessage, "version must be 2")
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		return nil, errorf(http.StatusUnauthorized, tokenErrorMessage, "jti is required")
	}
	return claims, nil
}

func tokenError(err error) *apiError {
	reason := "token is invalid"
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = "token is expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "signature is invalid"
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = "token is malformed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = "exp is required"
	}
	return errorf(http.StatusUnauthorized, tokenErrorMessage, reason)
}

// checkManagement validates the bearer management token of a /v2 call.
func (s *Server) checkManagement(r *http.Request) error {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	if h == "" {
		return errorf(http.StatusUnauthorized, tokenErrorMessage, "authorization header is missing")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return errorf(http.StatusUnauthorized, tokenErrorMessage, "authorization header must be Bearer <token>")
	}
	_, err := s.parseToken(strings.TrimSpace(raw), "management")
	return err
}

// checkPeerToken validates a peer auth token as the 100ms SFU does on join.
func (s *Server) checkPeerToken(raw string) (peerClaims, error) {
	if raw == "" {
		return peerClaims{}, errorf(http.StatusUnauthorized, tokenErrorMessage, "token is required")
	}
	claims, err := s.parseToken(raw, "app")
	if err != nil {
		return peerClaims{}, err
	}
	pc := peerClaims{}
	pc.RoomID, _ = claims["room_id"].(string)
	pc.Role, _ = claims["role"].(string)
	pc.UserID, _ = claims["user_id"].(string)
	for _, c := range [...]struct{ name, value string }{{"room_id", pc.RoomID}, {"role", pc.Role}, {"user_id", pc.UserID}} {
		if c.value == "" {
			return peerClaims{}, errorf(http.StatusUnauthorized, tokenErrorMessage, c.name+" is required")
		}
	}
	return pc, nil
}
