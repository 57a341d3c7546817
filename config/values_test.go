package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"512B", 512},
		{"64k", 64 << 10},
		{"64K", 64 << 10},
		{"64KiB", 64 << 10},
		{"64KB", 64 << 10},
		{"64kB", 64 << 10},
		{"512m", 512 << 20},
		{"256MiB", 256 << 20},
		{"256 MiB", 256 << 20},
		{"256MB", 256 << 20},
		{"1g", 1 << 30},
		{"1GiB", 1 << 30},
		{"1GB", 1 << 30},
		{"1.5g", 3 << 29},
		{"0.5KiB", 512},
		{"2t", 2 << 40},
		{"1TB", 1 << 40},
		{"512mb", 512 << 20},
		{"1kib", 1 << 10},
		{"2Gb", 2 << 30},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if err != nil {
				t.Fatalf("parseSize(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("parseSize(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseSizeInvalid(t *testing.T) {
	for _, in := range []string{
		"", "12XB", "mb", "-1", "+1", "1e3", "1.5", "1..5g", ".5g", "5.g",
		"1 2m", "9223372036854775807k", "99999999999g", "1e308g", "١٢m",
	} {
		t.Run(in, func(t *testing.T) {
			if got, err := parseSize(in); err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", in, got)
			}
		})
	}
}

func TestParseSeconds(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"30", 30 * time.Second},
		{"2.5", 2500 * time.Millisecond},
		{"0.001", time.Millisecond},
		{"30s", 30 * time.Second},
		{"1m30s", 90 * time.Second},
		{"-1", -time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSeconds(tc.in)
			if err != nil {
				t.Fatalf("parseSeconds(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("parseSeconds(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	for _, in := range []string{"", "abc", "NaN", "Inf", "1e300", "30 s"} {
		t.Run("invalid "+in, func(t *testing.T) {
			if got, err := parseSeconds(in); err == nil {
				t.Errorf("parseSeconds(%q) = %v, want an error", in, got)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0:                              "0s",
		time.Millisecond:               "1ms",
		time.Minute:                    "1m",
		10 * time.Minute:               "10m",
		time.Hour:                      "1h",
		90 * time.Minute:               "1h30m",
		time.Hour + time.Second:        "1h0m1s",
		2*time.Minute + 30*time.Second: "2m30s",
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%d) = %q, want %q", d, got, want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	cases := map[int64]string{
		0:         "0 bytes",
		100:       "100 bytes",
		1 << 10:   "1KiB",
		1536:      "1536 bytes",
		6 << 20:   "6MiB",
		1 << 30:   "1GiB",
		3 << 29:   "1536MiB",
		1 << 40:   "1TiB",
		1_000_000: "1000000 bytes",
	}
	for n, want := range cases {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
