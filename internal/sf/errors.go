package sf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Codes this package assigns itself when Salesforce gave none.
const (
	CodeHTML       = "HTML_RESPONSE"    // an HTML page (maintenance, Edge) instead of JSON
	CodeEmptyBody  = "EMPTY_RESPONSE"   // an error status with no body (406, 420, ...)
	CodeTransport  = "CONNECTION_ERROR" // reset, timeout, truncated body
	CodeBadBody    = "UNPARSEABLE_RESPONSE"
	CodeMultiple   = "MULTIPLE_CHOICES" // 300 from an external-id upsert
	CodeNoSession  = "NOT_LOGGED_IN"    // no token stored
	CodeTokenGrant = "TOKEN_REQUEST_FAILED"
)

// APIError is an error reported by Salesforce (or on the way to it). Code
// is Salesforce's errorCode (REST error bodies) or statusCode (per-record
// results), or one of the Code* constants above. It never contains a token.
type APIError struct {
	Status  int // HTTP status; 0 for transport errors and per-record results
	Code    string
	Message string
	Fields  []string
	// Hint tells an operator what to do, when a person must act.
	Hint string
	// class is the syncd error class, decided when the error is built.
	class error
	// retry says whether the client itself may repeat the request.
	retry      bool
	retryAfter time.Duration
	cause      error
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Status != 0 {
		fmt.Fprintf(&b, "salesforce %d ", e.Status)
	} else {
		b.WriteString("salesforce ")
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields %s)", strings.Join(e.Fields, ", "))
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is reports the syncd error class: errors.Is(err, syncd.ErrTransient) etc.
func (e *APIError) Is(target error) bool {
	return target != nil && target == e.class
}

// Unwrap returns the transport error beneath, if any.
func (e *APIError) Unwrap() error { return e.cause }

// ErrorCode is Salesforce's errorCode (or statusCode), which the engine
// records with a dead letter.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is Salesforce's message, without the code or the fields
// that Error adds: what the engine stores with a dead letter, beside its
// code.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFields are the fields Salesforce named in the error, if any; the
// engine reports them with a rejected row.
func (e *APIError) ErrorFields() []string { return e.Fields }

// Class returns the syncd error class of the error (ErrTransient,
// ErrSession, ErrLimit or ErrPermanent).
func (e *APIError) Class() error { return e.class }

const reauthHint = "run `syncd auth login` to authorise syncd again"

// transientCodes are errorCodes (or statusCodes) that go away on their own.
var transientCodes = map[string]bool{
	"UNABLE_TO_LOCK_ROW":                true, // retry is the only remedy: github.com/jsforce/jsforce/issues/1018
	"SERVER_UNAVAILABLE":                true,
	"UNKNOWN_EXCEPTION":                 true,
	"TXN_SECURITY_METERING_ERROR":       true, // airbyte rate_limiting.py
	"QUERY_TIMEOUT":                     true,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": true, // the innocent rows of a rolled-back all-or-none batch
	"INVALID_QUERY_LOCATOR":             true, // locator expired or released: restart from the committed cursor
	CodeHTML:                            true,
	CodeEmptyBody:                       true,
	CodeTransport:                       true,
}

// noClientRetry are transient codes the client must not simply repeat:
// the same request would fail the same way.
var noClientRetry = map[string]bool{
	"INVALID_QUERY_LOCATOR":             true,
	"QUERY_TIMEOUT":                     true,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": true,
}

// classify decides the class of an error from its status and code.
func classify(status int, code, message string) (class error, retry bool) {
	switch {
	case code == "REQUEST_LIMIT_EXCEEDED":
		// The concurrent long-running-request variant clears when other
		// requests finish; the daily allocation, a rolling 24 hours, does not
		// ("API Request Limits and Allocations",
		// developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html).
		if strings.Contains(message, "ConcurrentPerOrgLongTxn") || strings.Contains(strings.ToLower(message), "concurrent") {
			return syncd.ErrTransient, true
		}
		return syncd.ErrLimit, false
	case code == "INVALID_SESSION_ID" || code == "INVALID_AUTH_HEADER" || code == CodeNoSession:
		return syncd.ErrSession, false
	case transientCodes[code]:
		return syncd.ErrTransient, !noClientRetry[code]
	case status >= 500 || status == 406 || status == 420 || status == 429 || status == 408:
		return syncd.ErrTransient, true
	case status == 401:
		return syncd.ErrSession, false
	}
	return syncd.ErrPermanent, false
}

func newAPIError(status int, code, message string, fields []string) *APIError {
	class, retry := classify(status, code, message)
	return &APIError{Status: status, Code: code, Message: message, Fields: fields, class: class, retry: retry}
}

// RecordError builds the error of one per-record result (statusCode inside
// a SaveResult).
func recordError(code, message string, fields []string) *APIError {
	return newAPIError(0, code, message, fields)
}

func transportError(err error) *APIError {
	e := newAPIError(0, CodeTransport, err.Error(), nil)
	e.cause = err
	return e
}

func sessionError(code, message, hint string) *APIError {
	return &APIError{Status: 401, Code: code, Message: message, Hint: hint, class: syncd.ErrSession}
}

// wireError is one element of a REST error body, a JSON array of
// {message, errorCode, fields} ("Status Codes and Error Responses",
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
type wireError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// parseErrorBody builds an APIError from an error response body: the JSON
// array [{message,errorCode,fields}], a single object, an HTML page or
// nothing (Salesforce's edge and maintenance pages are HTML, and some 406
// and 420 responses have no body).
func parseErrorBody(status int, contentType string, body []byte) *APIError {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return newAPIError(status, CodeEmptyBody, http.StatusText(status), nil)
	}
	if isHTML(contentType, trimmed) {
		return newAPIError(status, CodeHTML, "HTML page instead of JSON: "+htmlTitle(trimmed), nil)
	}
	var arr []wireError
	if err := json.Unmarshal(trimmed, &arr); err != nil || len(arr) == 0 {
		var one wireError
		if err := json.Unmarshal(trimmed, &one); err != nil || (one.ErrorCode == "" && one.Message == "") {
			e := newAPIError(status, CodeBadBody, snippet(trimmed), nil)
			if status < 500 {
				// An unparseable 4xx is a protocol problem, not the record's.
				e.class, e.retry = syncd.ErrTransient, false
			}
			return e
		}
		arr = []wireError{one}
	}
	first := arr[0]
	code := first.ErrorCode
	if code == "" {
		code = first.StatusCode
	}
	msg := first.Message
	if len(arr) > 1 {
		var extra []string
		for _, w := range arr[1:] {
			extra = append(extra, w.ErrorCode+w.StatusCode+": "+w.Message)
		}
		msg += " (also: " + strings.Join(extra, "; ") + ")"
	}
	return newAPIError(status, code, msg, first.Fields)
}

func isHTML(contentType string, body []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "html") {
		return true
	}
	return len(body) > 0 && body[0] == '<'
}

func htmlTitle(body []byte) string {
	lower := bytes.ToLower(body)
	if i := bytes.Index(lower, []byte("<title>")); i >= 0 {
		rest := body[i+7:]
		if j := bytes.Index(bytes.ToLower(rest), []byte("</title>")); j >= 0 {
			return strings.TrimSpace(string(rest[:j]))
		}
	}
	return snippet(body)
}

func snippet(b []byte) string {
	const n = 200
	s := string(b)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Join(strings.Fields(s), " ")
}

// IsRetryable reports whether the client may repeat the failed request.
func isRetryable(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.retry
}
