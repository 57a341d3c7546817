package logging

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
)

// NewSlogLogger returns a slog.Logger that writes through l. Pass it to
// protoactor-go with actor.WithLoggerFactory so that actor logs share
// sessiond's format and level.
func NewSlogLogger(l hclog.Logger) *slog.Logger {
	return slog.New(NewSlogHandler(l))
}

// NewSlogHandler returns a slog.Handler that forwards records to l.
//
// Levels map to the nearest hclog level at or below them: below
// slog.LevelDebug is Trace, and slog.LevelError and above is Error. Group
// names and attribute keys are flattened into snake_case keys, so
// WithGroup("request").Info("m", "remoteAddr", a) logs request_remote_addr.
// The record's time and source are dropped because hclog stamps its own time.
func NewSlogHandler(l hclog.Logger) slog.Handler {
	return &slogHandler{logger: l}
}

type slogHandler struct {
	logger hclog.Logger
	// prefix is the open groups in snake_case, each followed by "_".
	prefix string
}

func (h *slogHandler) Enabled(_ context.Context, level slog.Level) bool {
	switch hclogLevel(level) {
	case hclog.Trace:
		return h.logger.IsTrace()
	case hclog.Debug:
		return h.logger.IsDebug()
	case hclog.Info:
		return h.logger.IsInfo()
	case hclog.Warn:
		return h.logger.IsWarn()
	default:
		return h.logger.IsError()
	}
}

func (h *slogHandler) Handle(_ context.Context, record slog.Record) error {
	args := make([]any, 0, 2*record.NumAttrs())
	record.Attrs(func(attr slog.Attr) bool {
		args = appendAttr(args, h.prefix, attr)
		return true
	})
	h.logger.Log(hclogLevel(record.Level), record.Message, args...)
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var args []any
	for _, attr := range attrs {
		args = appendAttr(args, h.prefix, attr)
	}
	if len(args) == 0 {
		return h
	}
	return &slogHandler{logger: h.logger.With(args...), prefix: h.prefix}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	key := snakeCase(name)
	if key == "" {
		return h
	}
	return &slogHandler{logger: h.logger, prefix: h.prefix + key + "_"}
}

// hclogLevel returns the hclog level for a slog level. slog levels are
// integers with room between the named ones, so each maps to the named
// level at or below it.
func hclogLevel(level slog.Level) hclog.Level {
	switch {
	case level < slog.LevelDebug:
		return hclog.Trace
	case level < slog.LevelInfo:
		return hclog.Debug
	case level < slog.LevelWarn:
		return hclog.Info
	case level < slog.LevelError:
		return hclog.Warn
	default:
		return hclog.Error
	}
}

// appendAttr appends attr to args as hclog key/value pairs, one pair per
// leaf of a group. It follows the slog.Handler rules: an empty attribute and
// an empty group are dropped, and a group without a key is inlined.
func appendAttr(args []any, prefix string, attr slog.Attr) []any {
	attr.Value = attr.Value.Resolve()

	if attr.Value.Kind() == slog.KindGroup {
		if key := snakeCase(attr.Key); key != "" {
			prefix += key + "_"
		}
		for _, member := range attr.Value.Group() {
			args = appendAttr(args, prefix, member)
		}
		return args
	}

	if attr.Key == "" && attr.Value.Kind() == slog.KindAny && attr.Value.Any() == nil {
		return args
	}
	key := prefix + snakeCase(attr.Key)
	if key == "" {
		key = "value"
	}
	return append(args, key, hclogValue(attr.Value))
}

// hclogValue converts v to a value that hclog writes the same way in text
// and in JSON. Durations and times become strings, because JSON would write
// a duration as nanoseconds. Any other value, such as an actor message,
// becomes its %+v text, because JSON encoding fails on channels and funcs
// and hclog then drops every field of the line.
func hclogValue(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		f := v.Float64()
		// JSON has no NaN or infinity.
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return f
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	}

	switch x := v.Any().(type) {
	case error:
		// %v, because %+v adds a stack trace for github.com/pkg/errors values.
		return fmt.Sprintf("%v", x)
	default:
		return fmt.Sprintf("%+v", x)
	}
}

// snakeCase converts a slog key such as "spawned-pid", "actorPID" or
// "HTTPServer" to "spawned_pid", "actor_pid" or "http_server". Runs of other
// characters become one underscore, and leading or trailing ones are dropped.
func snakeCase(key string) string {
	runes := []rune(key)
	var b strings.Builder
	pendingUnderscore := false

	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			pendingUnderscore = b.Len() > 0
			continue
		}
		if unicode.IsUpper(r) && i > 0 {
			previous := runes[i-1]
			nextIsLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if unicode.IsLower(previous) || unicode.IsDigit(previous) || (unicode.IsUpper(previous) && nextIsLower) {
				pendingUnderscore = b.Len() > 0
			}
		}
		if pendingUnderscore {
			b.WriteByte('_')
			pendingUnderscore = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
