package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Load builds the Config from command-line flags and environment variables.
// args are the flags, without the program name or a subcommand, and getenv
// is usually os.Getenv. A flag wins over its variable, a variable set to the
// empty string counts as unset, and spaces around a value are ignored.
//
// Load returns flag.ErrHelp unwrapped for -h or --help, so the caller can
// print Usage. A malformed command line returns one error. Otherwise each
// problem is one line of the error: invalid values in the order Usage lists
// the settings, then conflicts between settings. With an error, the Config
// is the zero value.
func Load(args []string, getenv func(string) string) (Config, error) {
	flagTexts, err := parseFlags(args)
	if err != nil {
		return Config{}, err
	}

	l := loader{
		raw:      make(map[string]string, len(settings)),
		explicit: make(map[string]bool, len(settings)),
		failed:   make(map[string]bool),
	}
	for i := range settings {
		s := &settings[i]
		raw, ok := flagTexts[s.env]
		if !ok {
			raw = getenv(s.env)
			ok = raw != ""
		}
		l.apply(s, strings.TrimSpace(raw), ok)
	}
	l.checkRelations()

	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	return l.cfg, nil
}

// flagValue records a flag's text. Load parses and checks it later, so that
// flags and variables get the same checks and messages.
type flagValue struct {
	text    string
	boolean bool
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	return v.text
}

func (v *flagValue) Set(text string) error {
	v.text = text
	return nil
}

func (v *flagValue) IsBoolFlag() bool { return v.boolean }

// parseFlags returns the text of each flag given in args, by variable name.
func parseFlags(args []string) (map[string]string, error) {
	fs := flag.NewFlagSet("sessiond", flag.ContinueOnError)
	// The caller prints Usage itself, and parse errors travel in the error.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	values := make(map[string]*flagValue, len(settings))
	for i := range settings {
		s := &settings[i]
		v := &flagValue{boolean: s.isBool()}
		values[s.flagName()] = v
		fs.Var(v, s.flagName(), s.help)
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flag.ErrHelp
		}
		return nil, fmt.Errorf("invalid command line: %w; run with --help to list the flags", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("invalid command line: unexpected argument %q; settings are flags such as --listen-addr=127.0.0.1:8080", fs.Arg(0))
	}

	texts := make(map[string]string)
	fs.Visit(func(f *flag.Flag) {
		for i := range settings {
			if settings[i].flagName() == f.Name {
				texts[settings[i].env] = values[f.Name].text
			}
		}
	})
	return texts, nil
}

// loader collects the Config and the problems found while building it.
type loader struct {
	cfg Config
	// raw is the text each setting was parsed from, set or default.
	raw map[string]string
	// explicit marks settings set by a flag or a variable.
	explicit map[string]bool
	// failed marks settings whose text was invalid, so that checks between
	// settings skip them instead of reporting them twice.
	failed map[string]bool
	errs   []error
}

// apply stores the default of s and then, when set, the value raw.
func (l *loader) apply(s *setting, raw string, set bool) {
	if err := s.value.apply(&l.cfg, s.def); err != nil {
		// Only a broken settings table gets here, and TestSettingsTable applies
		// every default to catch one.
		panic(fmt.Sprintf("config: default %q of %s: %v", s.def, s.env, err))
	}
	l.raw[s.env] = s.def
	if !set {
		return
	}

	l.explicit[s.env] = true
	if err := s.value.apply(&l.cfg, raw); err != nil {
		l.failed[s.env] = true
		l.errs = append(l.errs, invalid(s, raw, err))
		return
	}
	l.raw[s.env] = raw
}

// invalid formats the one-line error of a setting.
func invalid(s *setting, raw string, err error) error {
	if s.secret {
		return fmt.Errorf("invalid %s (--%s): %w", s.env, s.flagName(), err)
	}
	return fmt.Errorf("invalid %s (--%s) %q: %w", s.env, s.flagName(), raw, err)
}

// checkRelations checks the rules that involve two settings.
func (l *loader) checkRelations() {
	c := &l.cfg

	if !l.failed["SESSION_IMAGE"] && !slices.Contains(c.AllowedImages, c.SessionImage) {
		c.AllowedImages = append(c.AllowedImages, c.SessionImage)
	}

	atMost(l, "PROBE_INTERVAL", "STARTUP_TIMEOUT", &c.ProbeInterval, c.StartupTimeout, formatDuration)
	atMost(l, "DEFAULT_SESSION_MEMORY", "MAX_SESSION_MEMORY", &c.DefaultMemoryBytes, c.MaxMemoryBytes, formatSize)
	atMost(l, "DEFAULT_SESSION_CPUS", "MAX_SESSION_CPUS", &c.DefaultCPUs, c.MaxCPUs, formatFloat)
	atMost(l, "DEFAULT_SESSION_PIDS", "MAX_SESSION_PIDS", &c.DefaultPids, c.MaxPids, formatInt)
	atMost(l, "MAX_SESSIONS_PER_USER", "MAX_SESSIONS", &c.MaxSessionsPerUser, c.MaxSessions, formatInt)
}

// atMost requires the setting lowEnv to be at most highEnv. A default above
// the maximum is lowered to it, so that setting only the maximum
// (MAX_SESSIONS=5) works. A value that was set and exceeds it is an error.
func atMost[T cmp.Ordered](l *loader, lowEnv, highEnv string, low *T, high T, format func(T) string) {
	if l.failed[lowEnv] || l.failed[highEnv] || *low <= high {
		return
	}
	if !l.explicit[lowEnv] {
		*low = high
		return
	}

	s := lookup(lowEnv)
	err := fmt.Errorf("must be at most %s (%s)", highEnv, format(high))
	l.errs = append(l.errs, invalid(s, l.raw[lowEnv], err))
}

func lookup(env string) *setting {
	for i := range settings {
		if settings[i].env == env {
			return &settings[i]
		}
	}
	panic("config: unknown setting " + env)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func formatInt[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
