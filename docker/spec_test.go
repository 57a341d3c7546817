package docker

import (
	"slices"
	"testing"
	"time"
)

func TestContainerName(t *testing.T) {
	if got, want := ContainerName("abc123"), "sessiond-abc123"; got != want {
		t.Errorf("ContainerName = %q, want %q", got, want)
	}
}

func TestSessionLabels(t *testing.T) {
	created := time.Date(2025, 3, 1, 12, 30, 0, 123456789, time.FixedZone("CET", 3600))
	labels := SessionLabels("inst-1", "sess-1", "alice", `{"image":"x"}`, created)

	want := map[string]string{
		LabelSession:  "sess-1",
		LabelUser:     "alice",
		LabelInstance: "inst-1",
		LabelSpec:     `{"image":"x"}`,
		LabelCreated:  "2025-03-01T11:30:00.123456789Z",
	}
	for key, value := range want {
		if labels[key] != value {
			t.Errorf("label %s = %q, want %q", key, labels[key], value)
		}
	}
	if len(labels) != len(want) {
		t.Errorf("got %d labels, want %d: %v", len(labels), len(want), labels)
	}
}

func TestParseCreatedRoundTrip(t *testing.T) {
	created := time.Date(2025, 3, 1, 12, 30, 0, 5, time.UTC)
	labels := SessionLabels("i", "s", "u", "{}", created)

	got, ok := ParseCreated(labels)
	if !ok {
		t.Fatal("ParseCreated found no time")
	}
	if !got.Equal(created) {
		t.Errorf("ParseCreated = %v, want %v", got, created)
	}
}

func TestParseCreatedInvalid(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
	}{
		{"missing", map[string]string{}},
		{"malformed", map[string]string{LabelCreated: "yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := ParseCreated(tt.labels); ok {
				t.Errorf("ParseCreated = %v, true; want false", got)
			}
		})
	}
}

func TestEnvList(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nil", nil, nil},
		{"sorted by key", map[string]string{"B": "2", "A": "1", "C": ""}, []string{"A=1", "B=2", "C="}},
		{"value with equals sign", map[string]string{"OPTS": "a=b"}, []string{"OPTS=a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EnvList(tt.env); !slices.Equal(got, tt.want) {
				t.Errorf("EnvList = %q, want %q", got, tt.want)
			}
		})
	}
}
