package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/config"
	"github.com/sessiond/sessiond/docker"
)

// TestBadRequestCorpus sends malformed and abusive requests to a real
// sessiond: each must get a 4xx JSON error that says what is wrong, none a
// 5xx, and none may create a container.
func TestBadRequestCorpus(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.MaxBodyBytes = 8192 })
	const js = "application/json"
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		mention                               string
	}{
		{"truncated json", "POST", "/v1/sessions", js, `{"user":"a","memory":"64`, 400, ""},
		{"not an object", "POST", "/v1/sessions", js, `["user"]`, 400, ""},
		{"empty body", "POST", "/v1/sessions", js, ``, 400, ""},
		{"trailing data", "POST", "/v1/sessions", js, `{"user":"a"} {"user":"b"}`, 400, ""},
		{"user wrong type", "POST", "/v1/sessions", js, `{"user":42}`, 400, "user"},
		{"cpus wrong type", "POST", "/v1/sessions", js, `{"user":"a","cpus":"lots"}`, 400, "cpus"},
		{"env wrong type", "POST", "/v1/sessions", js, `{"user":"a","env":["X=1"]}`, 400, "env"},
		{"cmd wrong type", "POST", "/v1/sessions", js, `{"user":"a","cmd":"sh -c x"}`, 400, "cmd"},
		{"unknown field", "POST", "/v1/sessions", js, `{"user":"a","privileged":true}`, 400, "privileged"},
		{"missing user", "POST", "/v1/sessions", js, `{}`, 400, "user"},
		{"user with path", "POST", "/v1/sessions", js, `{"user":"../../etc"}`, 400, "user"},
		{"unicode user", "POST", "/v1/sessions", js, `{"user":"ålice"}`, 400, "user"},
		{"negative memory", "POST", "/v1/sessions", js, `{"user":"a","memory":-1}`, 400, "memory"},
		{"absurd memory", "POST", "/v1/sessions", js, `{"user":"a","memory":"900TiB"}`, 400, "memory"},
		{"memory below docker minimum", "POST", "/v1/sessions", js, `{"user":"a","memory":1024}`, 400, "memory"},
		{"memory bad unit", "POST", "/v1/sessions", js, `{"user":"a","memory":"12XB"}`, 400, "memory"},
		{"negative cpus", "POST", "/v1/sessions", js, `{"user":"a","cpus":-0.5}`, 400, "cpus"},
		{"absurd cpus", "POST", "/v1/sessions", js, `{"user":"a","cpus":1e300}`, 400, "cpus"},
		{"negative pids", "POST", "/v1/sessions", js, `{"user":"a","pids":-5}`, 400, "pids"},
		{"absurd pids", "POST", "/v1/sessions", js, `{"user":"a","pids":99999999999}`, 400, "pids"},
		{"disallowed image", "POST", "/v1/sessions", js, `{"user":"a","image":"alpine:3.20"}`, 400, "image"},
		{"invalid image name", "POST", "/v1/sessions", js, `{"user":"a","image":"UPPER/../x y"}`, 400, "image"},
		{"bad env name", "POST", "/v1/sessions", js, `{"user":"a","env":{"1BAD":"x"}}`, 400, "env"},
		{"huge body", "POST", "/v1/sessions", js, `{"user":"a","cmd":["` + strings.Repeat("x", 20000) + `"]}`, 413, ""},
		{"wrong content type", "POST", "/v1/sessions", "text/plain", `{"user":"a"}`, 415, ""},
		{"form content type", "POST", "/v1/sessions", "application/x-www-form-urlencoded", `user=a`, 415, ""},
		{"bad wait", "POST", "/v1/sessions?wait=forever", js, `{"user":"a"}`, 400, "wait"},
		{"negative wait", "POST", "/v1/sessions?wait=-1s", js, `{"user":"a"}`, 400, "wait"},
		{"id path trick", "GET", "/v1/sessions/..%2F..%2Fetc", "", "", 400, "id"},
		{"id unicode", "GET", "/v1/sessions/%E2%98%83", "", "", 400, "id"},
		{"id too long", "GET", "/v1/sessions/" + strings.Repeat("a", 100), "", "", 400, "id"},
		{"unknown id", "GET", "/v1/sessions/0123456789abcdef", "", "", 404, ""},
		{"delete unknown id", "DELETE", "/v1/sessions/0123456789abcdef", "", "", 404, ""},
		{"bad state filter", "GET", "/v1/sessions?state=sleeping", "", "", 400, "state"},
		{"wrong method on collection", "PUT", "/v1/sessions", js, `{"user":"a"}`, 405, ""},
		{"wrong method on session", "PATCH", "/v1/sessions/0123456789abcdef", js, `{}`, 405, ""},
		{"unknown route", "GET", "/v2/sessions", "", "", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
					Field   string `json:"field"`
				} `json:"error"`
			}
			resp := s.do(t, tc.method, tc.path, tc.contentType, []byte(tc.body), &body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (%s: %s)", resp.StatusCode, tc.status, body.Error.Code, body.Error.Message)
			}
			if body.Error.Code == "" || body.Error.Message == "" {
				t.Errorf("error body lacks code or message: %+v", body.Error)
			}
			if tc.mention != "" && body.Error.Field != tc.mention && !strings.Contains(body.Error.Message, tc.mention) {
				t.Errorf("error %+v does not name %q", body.Error, tc.mention)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
	list, err := s.engine.ListContainers(context.Background(), map[string]string{docker.LabelInstance: s.cfg.InstanceID})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 0 {
		names := make([]string, len(list))
		for i, c := range list {
			names[i] = c.Name
		}
		raw, _ := json.Marshal(names)
		t.Errorf("bad requests made %d containers: %s", len(list), raw)
	}
	var ready struct {
		Sessions int `json:"sessions"`
	}
	if resp := s.do(t, http.MethodGet, "/readyz", "", nil, &ready); resp.StatusCode != http.StatusOK || ready.Sessions != 0 {
		t.Errorf("after the corpus: readyz %d, %d sessions", resp.StatusCode, ready.Sessions)
	}
}
