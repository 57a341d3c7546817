package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCreateBodyErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantField   string
		wantMessage string // substring
	}{
		{name: "missing content type", contentType: "-", body: `{"user":"a"}`, wantStatus: 415, wantMessage: "application/json"},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", body: `user=a`, wantStatus: 415, wantMessage: `"application/x-www-form-urlencoded" is not supported`},
		{name: "text content type", contentType: "text/plain", body: `{"user":"a"}`, wantStatus: 415, wantMessage: "send the body as application/json"},
		{name: "non UTF-8 charset", contentType: "application/json; charset=latin1", body: `{"user":"a"}`, wantStatus: 415, wantMessage: "UTF-8"},
		{name: "garbled content type", contentType: "application/json; ===", body: `{"user":"a"}`, wantStatus: 415, wantMessage: "invalid Content-Type"},
		{name: "empty body", body: ``, wantStatus: 400, wantMessage: "empty"},
		{name: "whitespace body", body: " \n ", wantStatus: 400, wantMessage: "empty"},
		{name: "unknown field", body: `{"user":"a","memroy":"1g"}`, wantStatus: 400, wantField: "memroy", wantMessage: `unknown field "memroy"`},
		{name: "field in other case", body: `{"USER":"a"}`, wantStatus: 400, wantField: "USER", wantMessage: `unknown field "USER"`},
		{name: "duplicate field", body: `{"user":"a","user":"b"}`, wantStatus: 400, wantField: "user", wantMessage: `duplicate field "user"`},
		{name: "malformed JSON", body: `{"user":"a",}`, wantStatus: 400, wantMessage: "malformed JSON at byte offset 13"},
		{name: "single quotes", body: `{'user':'a'}`, wantStatus: 400, wantMessage: "malformed JSON at byte offset 2"},
		{name: "truncated JSON", body: `{"user":"a","cmd":["x"`, wantStatus: 400, wantMessage: "truncated JSON"},
		{name: "truncated literal", body: `{"user":nu`, wantStatus: 400, wantMessage: "truncated JSON"},
		{name: "array body", body: `[{"user":"a"}]`, wantStatus: 400, wantMessage: "must be a JSON object, got array"},
		{name: "string body", body: `"alice"`, wantStatus: 400, wantMessage: "must be a JSON object, got string"},
		{name: "trailing object", body: `{"user":"a"}{"user":"b"}`, wantStatus: 400, wantMessage: "after the JSON object, which ends at byte offset 12"},
		{name: "trailing garbage", body: `{"user":"a"} x`, wantStatus: 400, wantMessage: "unexpected data after the JSON object"},
		{name: "trailing brace", body: `{"user":"a"}}`, wantStatus: 400, wantMessage: "unexpected data after the JSON object"},
		{name: "user wrong type", body: `{"user":42}`, wantStatus: 400, wantField: "user", wantMessage: "user must be a string, got number"},
		{name: "cpus wrong type", body: `{"user":"a","cpus":"two"}`, wantStatus: 400, wantField: "cpus", wantMessage: "cpus must be a number, got string"},
		{name: "pids fraction", body: `{"user":"a","pids":1.5}`, wantStatus: 400, wantField: "pids", wantMessage: "pids must be an integer, got number 1.5"},
		{name: "pids overflow", body: `{"user":"a","pids":1e30}`, wantStatus: 400, wantField: "pids", wantMessage: "pids must be an integer"},
		{name: "env not object", body: `{"user":"a","env":["A=1"]}`, wantStatus: 400, wantField: "env", wantMessage: "env must be an object with string values, got array"},
		{name: "env value number", body: `{"user":"a","env":{"A":1}}`, wantStatus: 400, wantField: "env", wantMessage: "env must be an object with string values, got number"},
		{name: "cmd not array", body: `{"user":"a","cmd":"sh -c x"}`, wantStatus: 400, wantField: "cmd", wantMessage: "cmd must be an array of strings, got string"},
		{name: "cmd element number", body: `{"user":"a","cmd":[1]}`, wantStatus: 400, wantField: "cmd", wantMessage: "cmd must be an array of strings, got number"},
		{name: "memory bool", body: `{"user":"a","memory":true}`, wantStatus: 400, wantField: "memory", wantMessage: "non-negative integer number of bytes"},
		{name: "memory negative", body: `{"user":"a","memory":-1}`, wantStatus: 400, wantField: "memory", wantMessage: "non-negative"},
		{name: "memory float", body: `{"user":"a","memory":1.5}`, wantStatus: 400, wantField: "memory", wantMessage: "got 1.5"},
		{name: "memory unknown unit", body: `{"user":"a","memory":"256 parsecs"}`, wantStatus: 400, wantField: "memory", wantMessage: `unknown unit "parsecs"`},
		{name: "memory overflow", body: `{"user":"a","memory":"9999999t"}`, wantStatus: 400, wantField: "memory", wantMessage: "does not fit"},
		{name: "memory empty", body: `{"user":"a","memory":""}`, wantStatus: 400, wantField: "memory", wantMessage: "expected a number"},
		{name: "user missing", body: `{"image":"x"}`, wantStatus: 400, wantField: "user", wantMessage: "user is required"},
		{name: "user null", body: `{"user":null}`, wantStatus: 400, wantField: "user", wantMessage: "user is required"},
		{name: "user bad chars", body: `{"user":"al ice"}`, wantStatus: 400, wantField: "user", wantMessage: `user "al ice" is invalid`},
		{name: "user unicode", body: `{"user":"ålice"}`, wantStatus: 400, wantField: "user", wantMessage: "is invalid"},
		{name: "user too long", body: `{"user":"` + strings.Repeat("u", 65) + `"}`, wantStatus: 400, wantField: "user", wantMessage: "1 to 64 characters"},
		{name: "env name starts with digit", body: `{"user":"a","env":{"1A":"x"}}`, wantStatus: 400, wantField: "env", wantMessage: `env name "1A" is invalid`},
		{name: "env name with equals", body: `{"user":"a","env":{"A=B":"x"}}`, wantStatus: 400, wantField: "env", wantMessage: `env name "A=B" is invalid`},
		{name: "env name empty", body: `{"user":"a","env":{"":"x"}}`, wantStatus: 400, wantField: "env", wantMessage: `env name "" is invalid`},
		{name: "env value NUL", body: `{"user":"a","env":{"A":"x\u0000y"}}`, wantStatus: 400, wantField: "env", wantMessage: "NUL"},
		{name: "cmd NUL", body: `{"user":"a","cmd":["ok","x\u0000"]}`, wantStatus: 400, wantField: "cmd", wantMessage: "cmd[1] contains a NUL byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{})
			req := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(tt.body))
			switch tt.contentType {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()

			e.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Field != tt.wantField {
				t.Errorf("field = %q, want %q", detail.Field, tt.wantField)
			}
			if !strings.Contains(detail.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", detail.Message, tt.wantMessage)
			}
			if len(svc.Calls()) != 0 {
				t.Errorf("service was called: %+v", svc.Calls())
			}
		})
	}
}

func TestCreateBodyAcceptsCharsetUTF8(t *testing.T) {
	svc := &fakeService{}
	e := newTestServer(t, svc, Options{})

	rec := serve(e, http.MethodPost, "/v1/sessions", `{"user":"a"}`, "Content-Type", "application/json; charset=UTF-8")

	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body: %s", rec.Code, rec.Body)
	}
}

func TestCreateBodyTooLarge(t *testing.T) {
	const limit = 64
	big := `{"user":"a","image":"` + strings.Repeat("x", 2*limit) + `"}`
	tests := []struct {
		name          string
		contentLength int64 // -1 sends the body without a length, as chunked uploads do
	}{
		{name: "declared length", contentLength: int64(len(big))},
		{name: "unknown length", contentLength: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			e := newTestServer(t, svc, Options{MaxBodyBytes: limit})
			req := httptest.NewRequest(http.MethodPost, "/v1/sessions", io.NopCloser(strings.NewReader(big)))
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = tt.contentLength
			rec := httptest.NewRecorder()

			e.ServeHTTP(rec, req)

			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status = %d, want 413; body: %s", rec.Code, rec.Body)
			}
			detail := errorOf(t, rec.Header(), rec.Body.Bytes())
			if detail.Code != "payload_too_large" || !strings.Contains(detail.Message, "64 bytes") {
				t.Errorf("error = %+v, want payload_too_large naming the 64-byte limit", detail)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("413 response has no X-Request-Id")
			}
			if len(svc.Calls()) != 0 {
				t.Errorf("service was called: %+v", svc.Calls())
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1", want: 1},
		{in: "100b", want: 100},
		{in: "1k", want: 1 << 10},
		{in: "1KB", want: 1 << 10},
		{in: "1KiB", want: 1 << 10},
		{in: "512m", want: 512 << 20},
		{in: "256MiB", want: 256 << 20},
		{in: "256 MiB", want: 256 << 20},
		{in: "2g", want: 2 << 30},
		{in: "1.5GiB", want: 3 << 29},
		{in: "1t", want: 1 << 40},
		{in: "0.5k", want: 512},
		{in: "1.1k", want: 1126},
		{in: "8191.9999999t", want: 9007199254631040},
		{in: "8388607t", want: 8388607 << 40},
		{in: "8388608t", wantErr: true},
		{in: "9223372036854775807", want: 9223372036854775807},
		{in: "9223372036854775808", wantErr: true},
		{in: "", wantErr: true},
		{in: "m", wantErr: true},
		{in: "-1m", wantErr: true},
		{in: "+1m", wantErr: true},
		{in: "1e9", wantErr: true},
		{in: ".5g", wantErr: true},
		{in: "1.g", wantErr: true},
		{in: "1  m", wantErr: true},
		{in: " 1m", wantErr: true},
		{in: "1p", wantErr: true},
		{in: "1mi", wantErr: true},
		{in: "0x10", wantErr: true},
		{in: strings.Repeat("1", 33), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseByteSize(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseByteSize(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseByteSize(%q) failed: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseByteSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
