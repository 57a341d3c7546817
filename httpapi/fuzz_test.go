package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// FuzzCreateRequestDecoding sends arbitrary bodies to POST /v1/sessions and
// checks that decoding and validation never panic, respond only with 2xx
// or 4xx and a JSON body, and pass the service only valid user names.
func FuzzCreateRequestDecoding(f *testing.F) {
	seeds := []string{
		`{"user":"alice"}`,
		`{"user":"alice@example.com","image":"sandbox","memory":"256MiB","cpus":0.5,"pids":64,"env":{"A":"1"},"cmd":["x"]}`,
		`{"user":"a","memory":268435456}`,
		`{"user":"a","memory":"1.5 g"}`,
		`{"user":"a","memory":"9999999999t"}`,
		`{"user":"a","user":"b"}`,
		`{"USER":"a"}`,
		`{"user":"a"} {}`,
		`{"user":"a",`,
		`{"user":"a","env":{"1":"x"}}`,
		`{"user":"a","cmd":["\u0000"]}`,
		`[]`,
		`null`,
		``,
		"\xff\xfe",
	}
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}

	svc := &fakeService{}
	e := New(Options{Service: svc, Logger: hclog.NewNullLogger(), MaxBodyBytes: 4096})

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/sessions", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()

		e.ServeHTTP(rec, req)

		switch {
		case rec.Code == http.StatusCreated || rec.Code == http.StatusAccepted:
			var reply map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
				t.Fatalf("2xx body is not JSON: %v\nbody: %s", err, rec.Body)
			}
			user, _ := reply["user"].(string)
			if !userPattern.MatchString(user) {
				t.Fatalf("service received invalid user %q from body %q", user, body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var reply errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
				t.Fatalf("4xx body is not the JSON error shape: %v\nbody: %s", err, rec.Body)
			}
			if reply.Error.Code == "" || reply.Error.Message == "" {
				t.Fatalf("4xx error lacks code or message: %s", rec.Body)
			}
		default:
			t.Fatalf("status = %d for body %q, want 2xx or 4xx; response: %s", rec.Code, body, rec.Body)
		}
	})
}
