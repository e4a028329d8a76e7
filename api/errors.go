package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vkyc-engine/vkyc/workflows"
)

// Stable error codes of the API. Clients branch on these, never on messages.
const (
	codeMalformed          = "malformed_request"
	codeUnauthorized       = "unauthorized"
	codeForbidden          = "forbidden"
	codeNotFound           = "not_found"
	codeCaseNotFound       = "case_not_found"
	codeCaptureNotFound    = "capture_not_found"
	codeMethodNotAllowed   = "method_not_allowed"
	codeInvalidState       = "invalid_state"
	codeAgentConflict      = "agent_conflict"
	codeIdempotencyReused  = "idempotency_key_reused"
	codeWebhookReplay      = "webhook_replay_conflict"
	codeTooLarge           = "payload_too_large"
	codeUnsupportedMedia   = "unsupported_media_type"
	codeInvalidField       = "invalid_field"
	codeUnknownField       = "unknown_field"
	codeChecksumMismatch   = "checksum_mismatch"
	codeEmptyFile          = "empty_file"
	codeLengthRequired     = "length_required"
	codeUnavailable        = "unavailable"
	codeRoomNotReady       = "room_not_ready"
	codeWorkflowNotRunning = "case_not_running"
	codeNotReady           = "not_ready"
	codeRateLimited        = "rate_limited"
	codeInternal           = "internal"
)

// apiError is an answer in the error shape of the spec:
// {"error": {"code": "...", "message": "..."}}.
type apiError struct {
	Status  int
	Code    string
	Message string
	// cause is logged, never sent: it may name hosts or internal details.
	cause error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func (e *apiError) Unwrap() error { return e.cause }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *apiError) withCause(err error) *apiError {
	e.cause = err
	return e
}

func malformed(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codeMalformed, format, args...)
}

func invalidField(field, format string, args ...any) *apiError {
	return newError(http.StatusUnprocessableEntity, codeInvalidField, "%s: %s", field, fmt.Sprintf(format, args...))
}

func forbidden(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, codeForbidden, format, args...)
}

func unavailable(what string, err error) *apiError {
	return newError(http.StatusServiceUnavailable, codeUnavailable, "%s is unavailable; retry later", what).withCause(err)
}

func internalError(err error) *apiError {
	return newError(http.StatusInternalServerError, codeInternal, "internal error; retry later or contact support with the request id").withCause(err)
}

// abort answers with e and stops the handler chain. 5xx causes are logged
// here with the request id; 4xx are the caller's business and only appear in
// the access log.
func (s *Server) abort(c *gin.Context, e *apiError) {
	if e.Status >= 500 && e.cause != nil {
		s.log.ErrorContext(c.Request.Context(), "request failed",
			"request_id", requestID(c), "route", c.FullPath(), "status", e.Status, "code", e.Code, "error", e.cause)
	}
	if e.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "1")
	}
	c.AbortWithStatusJSON(e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message}})
}

// temporalFailure sorts an error of the Temporal client.
type temporalFailure int

const (
	temporalOther       temporalFailure = iota
	temporalNotFound                    // no such workflow, or it has completed
	temporalUnavailable                 // the server (or our deadline) did not answer
	temporalRejected                    // an update validator or handler refused
)

func classifyTemporal(err error) temporalFailure {
	var notFound *serviceerror.NotFound
	var app *temporal.ApplicationError
	var timeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	var unavail *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	switch {
	case err == nil:
		return temporalOther
	case errors.As(err, &app):
		return temporalRejected
	case errors.As(err, &notFound):
		return temporalNotFound
	case errors.As(err, &timeout), errors.As(err, &unavail), errors.As(err, &deadline), errors.As(err, &exhausted),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return temporalUnavailable
	}
	// The lazy client wraps connection failures in plain errors around a
	// gRPC status.
	if st, ok := status.FromError(errors.Unwrap(err)); ok {
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
			return temporalUnavailable
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if st, ok := status.FromError(e); ok && st.Code() == codes.Unavailable {
			return temporalUnavailable
		}
	}
	return temporalOther
}

// rejection maps a refused update to the status the workflow's error type
// stands for (see workflows.Reject*). Types it does not know are treated as
// a refusal of the request in the case's state: the workflow said no, and
// retrying the same request will not change that.
func rejection(err error) *apiError {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return nil
	}
	msg := app.Message()
	switch app.Type() {
	case workflows.RejectInvalidRequest:
		return newError(http.StatusUnprocessableEntity, codeInvalidField, "%s", msg)
	case workflows.RejectForbidden:
		return newError(http.StatusForbidden, codeForbidden, "%s", msg)
	default:
		return newError(http.StatusConflict, codeInvalidState, "%s", msg)
	}
}
