package apiclient

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
)

// multipartCapture is the form an agent's browser posts: the field kind and
// the file with its own media type. The samples are a few kilobytes, so the
// form is built in memory.
func multipartCapture(s Sample) (io.Reader, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("kind", string(s.Kind)); err != nil {
		return nil, "", fmt.Errorf("form field kind: %w", err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, s.FileName))
	h.Set("Content-Type", s.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", fmt.Errorf("form file: %w", err)
	}
	if _, err := part.Write(s.Data); err != nil {
		return nil, "", fmt.Errorf("form file: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("form: %w", err)
	}
	return &buf, w.FormDataContentType(), nil
}
