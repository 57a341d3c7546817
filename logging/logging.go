// Package logging builds sessiond's hclog logger and routes log/slog
// records, which protoactor-go writes, into it.
package logging

import (
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// New returns the root logger, named "sessiond", that writes timestamped
// lines to out: JSON when format is "json", text otherwise. level is trace,
// debug, info, warn or error, and hclog treats an unknown level as info.
// A nil out writes to standard error.
func New(level, format string, out io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "sessiond",
		Level:      hclog.LevelFromString(level),
		Output:     out,
		JSONFormat: strings.EqualFold(format, "json"),
	})
}
