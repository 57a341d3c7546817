package config

import (
	"fmt"
	"strings"
)

// Usage returns the help text for every setting: variable, flag, what the
// setting sets, the accepted values with their unit, and the default.
func Usage() string {
	var b strings.Builder
	b.WriteString(wrap("Settings come from environment variables or from flags, and a flag wins over "+
		"its variable. A boolean flag without a value means true: write --use-async-docker=false "+
		"to turn one off. A default limit above its maximum (DEFAULT_SESSION_MEMORY above a lower "+
		"MAX_SESSION_MEMORY, for example) is lowered to the maximum, but a value you set is not.", ""))

	for i := range settings {
		s := &settings[i]
		def := s.defText
		if def == "" {
			def = s.def
		}
		fmt.Fprintf(&b, "\n  %s, --%s\n", s.env, s.flagName())
		b.WriteString(wrap(s.help, "      "))
		b.WriteString(wrap("Accepts "+s.value.allowed()+". Default: "+def+".", "      "))
	}
	return b.String()
}

// wrap breaks text into lines of at most 80 columns, each starting with
// indent. A word longer than a line stays whole.
func wrap(text, indent string) string {
	const width = 80
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}
