package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// value parses one setting's text and stores the result in a Config.
type value interface {
	// allowed describes the accepted text as a noun phrase, such as
	// "an integer from 1 to 1000". Usage prints it and errors repeat it.
	allowed() string
	// apply parses raw and stores the result in c. Its error completes the
	// sentence "invalid SETTING (--flag) "raw": ...".
	apply(c *Config, raw string) error
}

// mustBe returns the error for text that v does not accept.
func mustBe(v value) error {
	return fmt.Errorf("must be %s", v.allowed())
}

// intValue is an integer in [min, max], where max 0 means no upper bound.
type intValue struct {
	min, max int64
	store    func(c *Config, n int64)
}

func (v intValue) allowed() string {
	if v.max == 0 {
		return fmt.Sprintf("an integer of at least %d", v.min)
	}
	return fmt.Sprintf("an integer from %d to %d", v.min, v.max)
}

func (v intValue) apply(c *Config, raw string) error {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < v.min || (v.max != 0 && n > v.max) {
		return mustBe(v)
	}
	v.store(c, n)
	return nil
}

// floatValue is a finite number in [min, max].
type floatValue struct {
	min, max float64
	store    func(c *Config, f float64)
}

func (v floatValue) allowed() string {
	return fmt.Sprintf("a number from %g to %g", v.min, v.max)
}

func (v floatValue) apply(c *Config, raw string) error {
	f, err := parseFinite(raw)
	if err != nil || f < v.min || f > v.max {
		return mustBe(v)
	}
	v.store(c, f)
	return nil
}

// parseFinite parses a decimal number and rejects NaN and infinities, which
// strconv.ParseFloat accepts.
func parseFinite(raw string) (float64, error) {
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a finite number")
	}
	return f, nil
}

// boolValue is anything strconv.ParseBool accepts.
type boolValue struct {
	store func(c *Config, b bool)
}

func (boolValue) allowed() string {
	return "true or false (1, 0, t and f also work)"
}

func (v boolValue) apply(c *Config, raw string) error {
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return mustBe(v)
	}
	v.store(c, b)
	return nil
}

// durationValue is a Go duration such as "30s" in [min, max]. With
// aboveMin, min itself is excluded. max 0 means no upper bound.
type durationValue struct {
	min, max time.Duration
	aboveMin bool
	store    func(c *Config, d time.Duration)
}

func (v durationValue) allowed() string {
	return "a Go duration such as 30s or 5m, " + durationRange(v.min, v.max, v.aboveMin)
}

func (v durationValue) apply(c *Config, raw string) error {
	d, err := time.ParseDuration(raw)
	if err != nil || !inDurationRange(d, v.min, v.max, v.aboveMin) {
		return mustBe(v)
	}
	v.store(c, d)
	return nil
}

// secondsValue is a number of seconds such as "30" or "2.5", or a Go
// duration such as "30s", in the range of a durationValue.
type secondsValue struct {
	min, max time.Duration
	aboveMin bool
	store    func(c *Config, d time.Duration)
}

func (v secondsValue) allowed() string {
	return "a number of seconds such as 30 or 2.5, or a Go duration such as 30s, " +
		durationRange(v.min, v.max, v.aboveMin)
}

func (v secondsValue) apply(c *Config, raw string) error {
	d, err := parseSeconds(raw)
	if err != nil || !inDurationRange(d, v.min, v.max, v.aboveMin) {
		return mustBe(v)
	}
	v.store(c, d)
	return nil
}

// parseSeconds parses a plain number as seconds and anything else as a Go
// duration.
func parseSeconds(raw string) (time.Duration, error) {
	seconds, err := parseFinite(raw)
	if err != nil {
		return time.ParseDuration(raw)
	}
	// Checked before converting, because converting a float64 beyond the
	// int64 range (about 292 years in nanoseconds) gives an
	// implementation-defined Duration.
	if math.Abs(seconds) > float64(math.MaxInt64/int64(time.Second)) {
		return 0, errors.New("out of range")
	}
	return time.Duration(seconds * float64(time.Second)), nil
}

func inDurationRange(d, min, max time.Duration, aboveMin bool) bool {
	if d < min || (aboveMin && d == min) {
		return false
	}
	return max == 0 || d <= max
}

func durationRange(min, max time.Duration, aboveMin bool) string {
	lower := "from " + formatDuration(min)
	if aboveMin {
		lower = "greater than " + formatDuration(min)
	}
	switch {
	case max == 0:
		if aboveMin {
			return lower
		}
		return formatDuration(min) + " or more"
	case aboveMin:
		return lower + " and at most " + formatDuration(max)
	default:
		return lower + " to " + formatDuration(max)
	}
}

// formatDuration writes d as time.Duration.String does, without the zero
// minutes and seconds it appends ("1h" instead of "1h0m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sizeValue is a byte count in [min, max], written as parseSize accepts.
type sizeValue struct {
	min, max int64
	store    func(c *Config, n int64)
}

func (v sizeValue) allowed() string {
	return "a size in bytes or with a unit (k, m, g, KB, MB, GB for KiB, MiB, GiB) " +
		"from " + formatSize(v.min) + " to " + formatSize(v.max)
}

func (v sizeValue) apply(c *Config, raw string) error {
	n, err := parseSize(raw)
	if err != nil || n < v.min || n > v.max {
		return mustBe(v)
	}
	v.store(c, n)
	return nil
}

// sizeUnits maps each accepted unit, in lowercase, to its number of
// bytes. Units are read in any letter case and every one is a power of
// 1024, as for the docker CLI's --memory (512m and 512MB are both 512 MiB)
// and for sizes in the HTTP API.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// parseSize parses a byte count such as "1048576", "256MiB", "512m" or
// "1.5GB". A fraction needs a unit and is rounded down to whole bytes.
func parseSize(raw string) (int64, error) {
	end := strings.IndexFunc(raw, func(r rune) bool {
		return (r < '0' || r > '9') && r != '.'
	})
	if end < 0 {
		end = len(raw)
	}
	number, unit := raw[:end], strings.TrimSpace(raw[end:])

	multiplier, ok := sizeUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	if number == "" || strings.Count(number, ".") > 1 || strings.HasPrefix(number, ".") || strings.HasSuffix(number, ".") {
		return 0, fmt.Errorf("invalid number %q", number)
	}

	if !strings.Contains(number, ".") {
		n, err := strconv.ParseInt(number, 10, 64)
		if err != nil || n > math.MaxInt64/multiplier {
			return 0, fmt.Errorf("size %q is out of range", raw)
		}
		return n * multiplier, nil
	}

	if multiplier == 1 {
		return 0, fmt.Errorf("fraction of a byte in %q", raw)
	}
	f, err := strconv.ParseFloat(number, 64)
	bytes := f * float64(multiplier)
	// 2^63 is the smallest float64 above MaxInt64.
	if err != nil || bytes >= math.Exp2(63) {
		return 0, fmt.Errorf("size %q is out of range", raw)
	}
	return int64(bytes), nil
}

// formatSize writes n with the largest binary unit that divides it.
func formatSize(n int64) string {
	units := []struct {
		name  string
		bytes int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n != 0 && n%u.bytes == 0 {
			return strconv.FormatInt(n/u.bytes, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// choiceValue is one of a fixed set of words, in any letter case. The
// lowercase form is stored.
type choiceValue struct {
	choices []string
	store   func(c *Config, s string)
}

func (v choiceValue) allowed() string {
	quoted := make([]string, len(v.choices))
	for i, choice := range v.choices {
		quoted[i] = strconv.Quote(choice)
	}
	return "one of " + strings.Join(quoted, ", ")
}

func (v choiceValue) apply(c *Config, raw string) error {
	lower := strings.ToLower(raw)
	for _, choice := range v.choices {
		if lower == choice {
			v.store(c, choice)
			return nil
		}
	}
	return mustBe(v)
}

// stringValue is text that check accepts, described by accepted.
type stringValue struct {
	accepted string
	check    func(s string) error
	store    func(c *Config, s string)
}

func (v stringValue) allowed() string { return v.accepted }

func (v stringValue) apply(c *Config, raw string) error {
	if v.check != nil {
		if err := v.check(raw); err != nil {
			return fmt.Errorf("%w; must be %s", err, v.accepted)
		}
	}
	v.store(c, raw)
	return nil
}

// imageListValue is a comma-separated list of image references. Blank
// entries are dropped and repeated ones kept once.
type imageListValue struct {
	store func(c *Config, images []string)
}

func (imageListValue) allowed() string {
	return "a comma-separated list of image references such as alpine:3.20"
}

func (v imageListValue) apply(c *Config, raw string) error {
	var images []string
	seen := make(map[string]bool)
	for _, item := range strings.Split(raw, ",") {
		image := strings.TrimSpace(item)
		if image == "" || seen[image] {
			continue
		}
		if err := checkImage(image); err != nil {
			return fmt.Errorf("image %q: %w; must be %s", image, err, v.allowed())
		}
		seen[image] = true
		images = append(images, image)
	}
	v.store(c, images)
	return nil
}

// labelListValue is a comma-separated list of key=value container labels.
type labelListValue struct {
	store func(c *Config, labels map[string]string)
}

func (labelListValue) allowed() string {
	return "comma-separated key=value pairs with non-empty keys without whitespace; keys starting with sessiond. are reserved except sessiond.test"
}

func (v labelListValue) apply(c *Config, raw string) error {
	labels := make(map[string]string)
	for _, item := range strings.Split(raw, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, value, ok := strings.Cut(item, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || checkNoSpace(key) != nil {
			return fmt.Errorf("label %q: must be key=value; allowed: %s", item, v.allowed())
		}
		if strings.HasPrefix(key, "sessiond.") && key != "sessiond.test" {
			return fmt.Errorf("label key %q is reserved for sessiond; allowed: %s", key, v.allowed())
		}
		labels[key] = strings.TrimSpace(value)
	}
	if len(labels) == 0 {
		labels = nil
	}
	v.store(c, labels)
	return nil
}

// checkImage accepts a non-empty image reference without whitespace. The
// full reference grammar is left to the Docker daemon, which rejects the
// rest when a session is created.
func checkImage(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	return checkNoSpace(s)
}

func checkNoSpace(s string) error {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return errors.New("contains whitespace or a control character")
	}
	return nil
}

func checkNonEmpty(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	return checkNoSpace(s)
}

// checkListenAddr accepts host:port with a numeric port. Port 0 makes the
// kernel pick a free port, and an empty host listens on every interface.
func checkListenAddr(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("not host:port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkDockerHost accepts an empty value (the Docker client's default) or an
// address with the scheme unix://, tcp:// or npipe://. The docker CLI also
// accepts ssh://, which needs the ssh binary and is not supported here.
func checkDockerHost(s string) error {
	if s == "" {
		return nil
	}
	for _, scheme := range []string{"unix://", "tcp://", "npipe://"} {
		if strings.HasPrefix(s, scheme) {
			if len(s) == len(scheme) {
				return errors.New("the address after the scheme is empty")
			}
			return checkNoSpace(s)
		}
	}
	return errors.New("unsupported scheme")
}

// checkDirectory accepts an empty value or the path of an existing directory.
func checkDirectory(s string) error {
	if s == "" {
		return nil
	}
	info, err := os.Stat(s)
	if err != nil {
		return errors.New("no such directory")
	}
	if !info.IsDir() {
		return errors.New("not a directory")
	}
	return nil
}

// checkHealthPath accepts an absolute URL path, optionally with a query.
func checkHealthPath(s string) error {
	if !strings.HasPrefix(s, "/") {
		return errors.New("does not start with /")
	}
	return checkNoSpace(s)
}

// checkToken accepts printable ASCII without spaces, which can travel in an
// Authorization header unchanged. An empty token turns authentication off.
func checkToken(s string) error {
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return errors.New("contains a space, a control character or non-ASCII text")
		}
	}
	return nil
}
