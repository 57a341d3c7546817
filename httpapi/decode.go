package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sessiond/sessiond/actors"
)

// createBody is the JSON body of POST /v1/sessions. Limits and images are
// passed on unchecked because the actors own those rules.
type createBody struct {
	User   string            `json:"user"`
	Image  string            `json:"image"`
	Memory byteSize          `json:"memory"`
	CPUs   float64           `json:"cpus"`
	Pids   int64             `json:"pids"`
	Env    map[string]string `json:"env"`
	Cmd    []string          `json:"cmd"`
}

// createBodyFields lists the JSON names of createBody, matched case-sensitively.
var createBodyFields = []string{"user", "image", "memory", "cpus", "pids", "env", "cmd"}

// expectedTypes describes each field's JSON type for type error messages.
var expectedTypes = map[string]string{
	"user":  "a string",
	"image": "a string",
	"cpus":  "a number",
	"pids":  "an integer",
	"env":   "an object with string values",
	"cmd":   "an array of strings",
}

var (
	userPattern    = regexp.MustCompile(`^[a-zA-Z0-9._@-]{1,64}$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// decodeCreateRequest reads and validates the body of POST /v1/sessions and
// translates it into an actors.CreateRequest. Every error is an *apiError
// with a 4xx status.
func decodeCreateRequest(r *http.Request) (actors.CreateRequest, error) {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return actors.CreateRequest{}, err
	}

	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return actors.CreateRequest{}, bodyTooLarge(tooLarge.Limit)
		}
		return actors.CreateRequest{}, invalidArgument("", "read request body: %v", err)
	}

	body, err := parseCreateBody(data)
	if err != nil {
		return actors.CreateRequest{}, err
	}
	return body.toRequest()
}

func bodyTooLarge(limit int64) *apiError {
	return &apiError{
		Status:  http.StatusRequestEntityTooLarge,
		Code:    codePayloadTooLarge,
		Message: fmt.Sprintf("request body exceeds the limit of %d bytes", limit),
	}
}

// checkJSONContentType accepts application/json with an optional UTF-8
// charset, the only encoding JSON allows between systems (RFC 8259).
func checkJSONContentType(header string) error {
	unsupported := func(format string, args ...any) error {
		return &apiError{
			Status:  http.StatusUnsupportedMediaType,
			Code:    codeUnsupportedMediaType,
			Message: fmt.Sprintf(format, args...),
		}
	}
	if header == "" {
		return unsupported("missing Content-Type header; send the body as application/json")
	}
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil {
		return unsupported("invalid Content-Type %q: %v; send the body as application/json", truncate(header), err)
	}
	if mediaType != "application/json" {
		return unsupported("Content-Type %q is not supported; send the body as application/json", truncate(mediaType))
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return unsupported("charset %q is not supported; send the body as UTF-8", truncate(charset))
	}
	return nil
}

// parseCreateBody decodes exactly one JSON object with the fields of
// createBody. It rejects unknown, duplicate and differently cased field
// names, which encoding/json would otherwise accept.
func parseCreateBody(data []byte) (createBody, error) {
	var body createBody
	if len(bytes.TrimSpace(data)) == 0 {
		return body, invalidArgument("", "request body is empty; expected a JSON object")
	}
	if err := checkFieldNames(data); err != nil {
		return body, err
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return body, translateDecodeError(err)
	}

	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return body, invalidArgument("", "unexpected data after the JSON object, which ends at byte offset %d", end)
	}
	return body, nil
}

// checkFieldNames scans the keys of a top-level JSON object and reports
// only unknown and duplicate keys. It ignores syntax errors because the
// decoder describes them better.
func checkFieldNames(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}

	seen := make(map[string]bool, len(createBodyFields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil
		}
		if !slices.Contains(createBodyFields, key) {
			return unknownField(key)
		}
		if seen[key] {
			return invalidArgument(key, "duplicate field %q", key)
		}
		seen[key] = true

		var skipped json.RawMessage
		if err := dec.Decode(&skipped); err != nil {
			return nil
		}
	}
	return nil
}

func unknownField(name string) *apiError {
	return invalidArgument(truncate(name), "unknown field %q; accepted fields are %s",
		truncate(name), strings.Join(createBodyFields, ", "))
}

// translateDecodeError turns an encoding/json error into a 400 that names
// the byte offset, the field or the reason.
func translateDecodeError(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var fieldErr *apiError

	switch {
	case errors.As(err, &fieldErr):
		return fieldErr
	case errors.As(err, &syntaxErr):
		return invalidArgument("", "malformed JSON at byte offset %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidArgument("", "truncated JSON: the body ends before the object is complete")
	case errors.As(err, &typeErr):
		field, _, _ := strings.Cut(typeErr.Field, ".")
		if field == "" {
			return invalidArgument("", "request body must be a JSON object, got %s", typeErr.Value)
		}
		expected, ok := expectedTypes[field]
		if !ok {
			expected = typeErr.Type.String()
		}
		return invalidArgument(field, "%s must be %s, got %s", field, expected, typeErr.Value)
	}

	// encoding/json has no error type for unknown fields. checkFieldNames
	// catches them first, so this branch is a fallback.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unquoted, unquoteErr := strconv.Unquote(name); unquoteErr == nil {
			name = unquoted
		}
		return unknownField(name)
	}
	return invalidArgument("", "invalid JSON body: %v", err)
}

// toRequest checks the syntax of user, env and cmd and builds the request
// for the actors.
func (b createBody) toRequest() (actors.CreateRequest, error) {
	if b.User == "" {
		return actors.CreateRequest{}, invalidArgument("user", "user is required")
	}
	if !userPattern.MatchString(b.User) {
		return actors.CreateRequest{}, invalidArgument("user",
			"user %q is invalid: use 1 to 64 characters from a-z, A-Z, 0-9, '.', '_', '@' and '-'", truncate(b.User))
	}

	for name, value := range b.Env {
		if !envNamePattern.MatchString(name) {
			return actors.CreateRequest{}, invalidArgument("env",
				"env name %q is invalid: use letters, digits and '_', not starting with a digit", truncate(name))
		}
		// execve takes NUL-terminated strings, so a NUL byte cannot reach the process.
		if strings.ContainsRune(value, 0) {
			return actors.CreateRequest{}, invalidArgument("env", "env value of %q contains a NUL byte", name)
		}
	}
	for i, arg := range b.Cmd {
		if strings.ContainsRune(arg, 0) {
			return actors.CreateRequest{}, invalidArgument("cmd", "cmd[%d] contains a NUL byte", i)
		}
	}

	return actors.CreateRequest{
		User:        b.User,
		Image:       b.Image,
		MemoryBytes: int64(b.Memory),
		CPUs:        b.CPUs,
		Pids:        b.Pids,
		Env:         b.Env,
		Cmd:         b.Cmd,
	}, nil
}

// byteSize is a memory size in bytes, written in JSON as an integer or as a
// string with a unit.
type byteSize int64

// UnmarshalJSON accepts null (unset), a non-negative integer number of
// bytes, or a string that parseByteSize accepts.
func (b *byteSize) UnmarshalJSON(data []byte) error {
	invalid := func(format string, args ...any) error {
		return invalidArgument("memory", format, args...)
	}

	text := string(data)
	switch {
	case text == "null":
		return nil
	case strings.HasPrefix(text, `"`):
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return invalid("memory is not a valid JSON string: %v", err)
		}
		n, err := parseByteSize(s)
		if err != nil {
			return invalid("memory %q is invalid: %v", truncate(s), err)
		}
		*b = byteSize(n)
		return nil
	}

	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return invalid(`memory must be a non-negative integer number of bytes or a string such as "256MiB" or "512m", got %s`,
			truncate(text))
	}
	*b = byteSize(n)
	return nil
}

var byteSizePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]*)$`)

// byteUnits are the unit suffixes of parseByteSize, lowercased. All of them
// are binary multiples, as in `docker run --memory`, so "m", "mb" and "mib"
// all mean 2^20 bytes.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// maxByteSizeDigits bounds the number part so that a huge string cannot make
// the exact arithmetic below expensive.
const maxByteSizeDigits = 32

// parseByteSize parses sizes such as "268435456", "256MiB", "512m" or
// "1.5 GiB". Units are case-insensitive, and a fraction is rounded down to
// whole bytes.
func parseByteSize(s string) (int64, error) {
	match := byteSizePattern.FindStringSubmatch(s)
	if match == nil {
		return 0, errors.New(`expected a number with an optional unit, such as "256MiB" or "512m"`)
	}
	number, unit := match[1], match[2]
	if len(number) > maxByteSizeDigits {
		return 0, fmt.Errorf("the number has more than %d digits", maxByteSizeDigits)
	}
	multiplier, ok := byteUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q; use b, k, m, g or t, optionally followed by b or ib", unit)
	}

	value, ok := new(big.Rat).SetString(number)
	if !ok {
		return 0, fmt.Errorf("invalid number %q", number)
	}
	value.Mul(value, new(big.Rat).SetInt64(multiplier))
	bytes := new(big.Int).Quo(value.Num(), value.Denom())
	if !bytes.IsInt64() {
		return 0, errors.New("the size does not fit in a signed 64-bit integer")
	}
	return bytes.Int64(), nil
}

// truncate shortens s for use in a message, so that a long input is not
// echoed back whole.
func truncate(s string) string {
	const maxLen = 64
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "..."
}
