package blob

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxStreamChunk bounds one chunk of a streaming upload: a chunk is held in
// memory until its signature is checked, so a hostile size must not make us
// allocate without limit. SDKs send 64 KiB to 8 MiB chunks.
const maxStreamChunk = 16 << 20

// decodeStreamingBody replaces an "aws-chunked" body signed with
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD by its decoded content, each chunk
// released only after its signature (chained from the seed signature) is
// verified. The request then looks like a plain upload of
// x-amz-decoded-content-length bytes.
func decodeStreamingBody(r *http.Request, sr *signedRequest) *s3Error {
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return &s3Error{status: http.StatusLengthRequired, code: "MissingContentLength",
			message: "a streaming upload needs a valid x-amz-decoded-content-length"}
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	r.Body = &chunkedBody{
		rc:       body,
		br:       bufio.NewReaderSize(body, 4096),
		sr:       sr,
		prevSig:  sr.signature,
		declared: n,
	}
	r.ContentLength = n
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	r.TransferEncoding = nil
	// aws-chunked describes the transfer, not the object: the stored object
	// must not be served with it.
	var encodings []string
	for _, e := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			encodings = append(encodings, e)
		}
	}
	if len(encodings) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(encodings, ","))
	}
	return nil
}

var errChunkSignature = errors.New("blob: streaming upload chunk signature does not match")

type chunkedBody struct {
	rc       io.ReadCloser
	br       *bufio.Reader
	sr       *signedRequest
	prevSig  string
	declared int64 // x-amz-decoded-content-length
	total    int64
	chunk    []byte
	off      int
	done     bool
	err      error
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	for c.off == len(c.chunk) {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		c.err = c.next()
	}
	n := copy(p, c.chunk[c.off:])
	c.off += n
	return n, nil
}

func (c *chunkedBody) Close() error { return c.rc.Close() }

// next reads and verifies one chunk: "<hex size>;chunk-signature=<sig>\r\n
// <data>\r\n". The zero-size chunk ends the stream.
func (c *chunkedBody) next() error {
	line, err := c.br.ReadSlice('\n')
	if err == io.EOF && len(line) == 0 && c.total == 0 && c.declared == 0 && c.prevSig == c.sr.signature {
		// An empty object sent with no chunk at all.
		c.done = true
		c.chunk, c.off = nil, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: streaming upload: read chunk header: %w", errOr(err))
	}
	header := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	sizeHex, ext, ok := strings.Cut(header, ";")
	sig, hasSig := strings.CutPrefix(ext, "chunk-signature=")
	if !ok || !hasSig || len(sig) != 64 {
		return errors.New("blob: streaming upload: malformed chunk header")
	}
	size, err := strconv.ParseInt(sizeHex, 16, 64)
	if err != nil || size < 0 || size > maxStreamChunk {
		return errors.New("blob: streaming upload: invalid chunk size")
	}
	if c.total+size > c.declared {
		return errors.New("blob: streaming upload: more data than x-amz-decoded-content-length")
	}
	if int64(cap(c.chunk)) < size {
		c.chunk = make([]byte, size)
	}
	c.chunk = c.chunk[:size]
	if _, err := io.ReadFull(c.br, c.chunk); err != nil {
		return fmt.Errorf("blob: streaming upload: read chunk: %w", errOr(err))
	}
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
		return errors.New("blob: streaming upload: chunk not terminated by CRLF")
	}
	dataSum := sha256.Sum256(c.chunk)
	stringToSign := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.sr.amzDate + "\n" + c.sr.scope + "\n" +
		c.prevSig + "\n" + emptySHA256 + "\n" + hex.EncodeToString(dataSum[:])
	want := hex.EncodeToString(hmacSHA256(c.sr.signingKey, stringToSign))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errChunkSignature
	}
	c.prevSig = sig
	c.total += size
	c.off = 0
	if size == 0 {
		if c.total != c.declared {
			return errors.New("blob: streaming upload: less data than x-amz-decoded-content-length")
		}
		c.done = true
	}
	return nil
}

// errOr turns a premature EOF into ErrUnexpectedEOF: inside a chunk, the end
// of the body is always a truncation.
func errOr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
