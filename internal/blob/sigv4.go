package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigV4Verifier authenticates S3 requests signed with AWS Signature Version 4
// (Authorization header or presigned query) before the embedded store sees
// them. It follows the published SigV4 algorithm; the embedded store has a
// single credential.
type sigV4Verifier struct {
	accessKey string
	secretKey string
	now       func() time.Time
}

const (
	sigAlgorithm     = "AWS4-HMAC-SHA256"
	amzDateLayout    = "20060102T150405Z"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	streamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// maxClockSkew is how far a header-signed request's date may be from our
	// clock, as on AWS.
	maxClockSkew = 15 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires S3 accepts (7 days).
	maxPresignExpiry = 7 * 24 * 60 * 60
)

// s3Error is an S3 error response.
type s3Error struct {
	status  int
	code    string
	message string
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func accessDenied(msg string) *s3Error {
	return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: msg}
}

func (e *s3Error) write(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	if r.Method == http.MethodHead {
		return
	}
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName  xml.Name `xml:"Error"`
		Code     string   `xml:"Code"`
		Message  string   `xml:"Message"`
		Resource string   `xml:"Resource"`
	}{Code: e.code, Message: e.message, Resource: r.URL.Path})
}

// signedRequest is what a verified request was signed with; streaming
// uploads need it to check every chunk.
type signedRequest struct {
	amzDate    string
	scope      string
	signingKey []byte
	signature  string
}

func (v *sigV4Verifier) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := v.admit(r); e != nil {
			e.write(w, r)
			return
		}
		if e := refuseUnsupported(r); e != nil {
			e.write(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admit verifies the signature and prepares the body for the store: a
// streaming body is decoded with each chunk's signature checked, a body with
// a declared SHA-256 is checked against it as it is read. Auth headers are
// then removed so the store does not keep them as object metadata.
func (v *sigV4Verifier) admit(r *http.Request) *s3Error {
	var (
		sr          *signedRequest
		payloadHash string
		e           *s3Error
	)
	switch {
	case r.Header.Get("Authorization") != "":
		sr, payloadHash, e = v.verifyHeader(r)
	case r.URL.Query().Has("X-Amz-Signature"):
		sr, payloadHash, e = v.verifyPresigned(r)
	default:
		return accessDenied("anonymous access is not allowed")
	}
	if e != nil {
		return e
	}
	switch {
	case payloadHash == unsignedPayload:
	case payloadHash == streamingPayload:
		if e := decodeStreamingBody(r, sr); e != nil {
			return e
		}
	case isHexSHA256(payloadHash):
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &hashCheckingBody{rc: r.Body, want: payloadHash, h: sha256.New()}
		}
	default:
		return &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "payload signing mode " + payloadHash + " is not supported by the embedded store"}
	}
	r.Header.Del("Authorization")
	r.Header.Del("X-Amz-Date")
	r.Header.Del("X-Amz-Content-Sha256")
	r.Header.Del("X-Amz-Decoded-Content-Length")
	return nil
}

// refuseUnsupported answers the requests gofakes3 would get wrong: SSE
// (it would store the header and claim success) and bucket policies (it
// would answer a listing). The embedded store never has a policy: with
// signatures required it cannot be public.
func refuseUnsupported(r *http.Request) *s3Error {
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-server-side-encryption") {
			return &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
				message: "server-side encryption is not supported by the embedded store"}
		}
	}
	if r.URL.Query().Has("policy") {
		if r.Method == http.MethodGet {
			return &s3Error{status: http.StatusNotFound, code: "NoSuchBucketPolicy",
				message: "the bucket policy does not exist"}
		}
		return &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "bucket policies are not supported by the embedded store"}
	}
	return nil
}

func (v *sigV4Verifier) verifyHeader(r *http.Request) (*signedRequest, string, *s3Error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, sigAlgorithm+" ")
	if !ok {
		return nil, "", accessDenied("only AWS Signature Version 4 is supported")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = val
	}
	credential, signedHeaders, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || signedHeaders == "" || signature == "" {
		return nil, "", accessDenied("malformed Authorization header")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, e := v.checkDate(amzDate)
	if e != nil {
		return nil, "", e
	}
	if d := v.now().Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return nil, "", &s3Error{status: http.StatusForbidden, code: "RequestTimeTooSkewed",
			message: "the difference between the request time and the server's time is too large"}
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		return nil, "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest",
			message: "missing required header x-amz-content-sha256"}
	}
	scope, e := v.checkCredential(credential, amzDate)
	if e != nil {
		return nil, "", e
	}
	sr, e := v.checkSignature(r, amzDate, scope, signedHeaders, signature, canonicalQuery(r.URL.Query(), ""), payloadHash)
	if e != nil {
		return nil, "", e
	}
	return sr, payloadHash, nil
}

func (v *sigV4Verifier) verifyPresigned(r *http.Request) (*signedRequest, string, *s3Error) {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		return nil, "", accessDenied("only AWS Signature Version 4 is supported")
	}
	amzDate := q.Get("X-Amz-Date")
	t, e := v.checkDate(amzDate)
	if e != nil {
		return nil, "", e
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires <= 0 || expires > maxPresignExpiry {
		return nil, "", accessDenied("X-Amz-Expires must be between 1 and 604800 seconds")
	}
	now := v.now()
	if t.Sub(now) > maxClockSkew {
		return nil, "", accessDenied("request is not valid yet")
	}
	if now.After(t.Add(time.Duration(expires) * time.Second)) {
		return nil, "", accessDenied("Request has expired")
	}
	scope, e := v.checkCredential(q.Get("X-Amz-Credential"), amzDate)
	if e != nil {
		return nil, "", e
	}
	payloadHash := q.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = unsignedPayload
	}
	sr, e := v.checkSignature(r, amzDate, scope, q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"),
		canonicalQuery(q, "X-Amz-Signature"), payloadHash)
	if e != nil {
		return nil, "", e
	}
	return sr, payloadHash, nil
}

func (v *sigV4Verifier) checkDate(amzDate string) (time.Time, *s3Error) {
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return time.Time{}, accessDenied("missing or malformed X-Amz-Date")
	}
	return t, nil
}

// checkCredential validates "<access key>/<yyyymmdd>/<region>/s3/aws4_request"
// and returns the scope (everything after the access key). Any region is
// accepted: the embedded store has no region of its own.
func (v *sigV4Verifier) checkCredential(credential, amzDate string) (string, *s3Error) {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[3] != "s3" || parts[4] != "aws4_request" || parts[2] == "" {
		return "", accessDenied("malformed credential scope")
	}
	if !hmac.Equal([]byte(parts[0]), []byte(v.accessKey)) {
		return "", &s3Error{status: http.StatusForbidden, code: "InvalidAccessKeyId",
			message: "the access key id does not exist in our records"}
	}
	if parts[1] != amzDate[:8] {
		return "", accessDenied("credential date does not match X-Amz-Date")
	}
	return strings.Join(parts[1:], "/"), nil
}

func (v *sigV4Verifier) checkSignature(r *http.Request, amzDate, scope, signedHeaders, signature, query, payloadHash string) (*signedRequest, *s3Error) {
	names := strings.Split(signedHeaders, ";")
	hasHost := false
	for _, n := range names {
		if n == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return nil, accessDenied("the host header must be signed")
	}
	canonical := strings.Join([]string{
		r.Method,
		awsEscape(r.URL.Path, false),
		query,
		canonicalHeaders(r, names),
		signedHeaders,
		payloadHash,
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])

	scopeParts := strings.Split(scope, "/")
	key := hmacSHA256([]byte("AWS4"+v.secretKey), scopeParts[0])
	key = hmacSHA256(key, scopeParts[1])
	key = hmacSHA256(key, scopeParts[2])
	key = hmacSHA256(key, scopeParts[3])
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return nil, &s3Error{status: http.StatusForbidden, code: "SignatureDoesNotMatch",
			message: "the request signature we calculated does not match the signature you provided"}
	}
	return &signedRequest{amzDate: amzDate, scope: scope, signingKey: key, signature: signature}, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, n := range names {
		var vals []string
		switch n {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = r.Header.Values(n)
			if len(vals) == 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = r.Header.Values(n)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals, ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalQuery sorts parameters by name then value, each escaped the SigV4
// way, leaving out skip (the signature itself in presigned URLs).
func canonicalQuery(q url.Values, skip string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		if k == skip {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, pair{awsEscape(k, true), awsEscape(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), and '/' too unless slash is false, as SigV4 asks.
func awsEscape(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		unreserved := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
		if unreserved || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

var errPayloadMismatch = errors.New("blob: request body does not match its signed x-amz-content-sha256")

// hashCheckingBody fails the read that reaches the end of a body whose
// SHA-256 differs from the signed one, so the store never completes a write
// of altered bytes.
type hashCheckingBody struct {
	rc   io.ReadCloser
	want string
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (b *hashCheckingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	_, _ = b.h.Write(p[:n]) // a hash never returns an error
	if err == io.EOF && hex.EncodeToString(b.h.Sum(nil)) != b.want {
		return n, errPayloadMismatch
	}
	return n, err
}

func (b *hashCheckingBody) Close() error { return b.rc.Close() }
