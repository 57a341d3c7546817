package docker

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/go-connections/nat"
)

func TestContainerConfigsLimitsAndPort(t *testing.T) {
	spec := ContainerSpec{
		Name:        "sessiond-a",
		Image:       "sessiond-sandbox:latest",
		Cmd:         []string{"--flag"},
		Env:         map[string]string{"B": "2", "A": "1"},
		Labels:      map[string]string{LabelSession: "a"},
		Port:        8080,
		MemoryBytes: 64 << 20,
		NanoCPUs:    500_000_000,
		PidsLimit:   64,
	}
	config, hostConfig := containerConfigs(spec)

	if config.Image != spec.Image {
		t.Errorf("image = %q, want %q", config.Image, spec.Image)
	}
	if len(config.Env) != 2 || config.Env[0] != "A=1" || config.Env[1] != "B=2" {
		t.Errorf("env = %q, want [A=1 B=2]", config.Env)
	}
	if !maps.Equal(config.Labels, spec.Labels) {
		t.Errorf("labels = %v, want %v", config.Labels, spec.Labels)
	}
	if _, ok := config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports = %v, want 8080/tcp", config.ExposedPorts)
	}
	bindings := hostConfig.PortBindings["8080/tcp"]
	if len(bindings) != 1 || bindings[0].HostIP != "127.0.0.1" || bindings[0].HostPort != "" {
		t.Errorf("port bindings = %v, want one on 127.0.0.1 with an empty host port", bindings)
	}
	if hostConfig.Memory != spec.MemoryBytes {
		t.Errorf("memory = %d, want %d", hostConfig.Memory, spec.MemoryBytes)
	}
	if hostConfig.MemorySwap != spec.MemoryBytes {
		t.Errorf("memory+swap = %d, want %d (no swap)", hostConfig.MemorySwap, spec.MemoryBytes)
	}
	if hostConfig.NanoCPUs != spec.NanoCPUs {
		t.Errorf("nano CPUs = %d, want %d", hostConfig.NanoCPUs, spec.NanoCPUs)
	}
	if hostConfig.PidsLimit == nil || *hostConfig.PidsLimit != 64 {
		t.Errorf("pids limit = %v, want 64", hostConfig.PidsLimit)
	}
	if hostConfig.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Errorf("restart policy = %q, want %q", hostConfig.RestartPolicy.Name, container.RestartPolicyDisabled)
	}
	if hostConfig.AutoRemove {
		t.Error("auto remove is on, want off")
	}
}

func TestContainerConfigsCopiesInputs(t *testing.T) {
	spec := ContainerSpec{Name: "n", Image: "i", Cmd: []string{"a"}, Labels: map[string]string{"k": "v"}}
	config, _ := containerConfigs(spec)

	config.Labels["k"] = "changed"
	config.Cmd[0] = "changed"
	if spec.Labels["k"] != "v" {
		t.Error("containerConfigs shares the caller's label map")
	}
	if spec.Cmd[0] != "a" {
		t.Error("containerConfigs shares the caller's command slice")
	}
}

func TestContainerConfigsZeroMeansNone(t *testing.T) {
	_, hostConfig := containerConfigs(ContainerSpec{Name: "n", Image: "i"})
	if hostConfig.PidsLimit != nil {
		t.Errorf("pids limit = %d, want unset", *hostConfig.PidsLimit)
	}
	if len(hostConfig.PortBindings) != 0 {
		t.Errorf("port bindings = %v, want none", hostConfig.PortBindings)
	}
	if hostConfig.Memory != 0 || hostConfig.MemorySwap != 0 {
		t.Errorf("memory = %d, memory+swap = %d, want 0 and 0", hostConfig.Memory, hostConfig.MemorySwap)
	}
}

func TestCreateContainerInvalidSpec(t *testing.T) {
	tests := []struct {
		name string
		spec ContainerSpec
	}{
		{"empty name", ContainerSpec{Image: "i"}},
		{"empty image", ContainerSpec{Name: "n"}},
		{"port too large", ContainerSpec{Name: "n", Image: "i", Port: 70000}},
		{"negative memory", ContainerSpec{Name: "n", Image: "i", MemoryBytes: -1}},
		{"negative cpus", ContainerSpec{Name: "n", Image: "i", NanoCPUs: -1}},
		{"negative pids", ContainerSpec{Name: "n", Image: "i", PidsLimit: -1}},
	}
	// The spec is rejected before any request, so no daemon is needed.
	c := newUnreachableClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateContainer(context.Background(), tt.spec)
			if KindOf(err) != KindInvalid {
				t.Errorf("CreateContainer error = %v (kind %s), want kind invalid", err, KindOf(err))
			}
		})
	}
}

func TestPublishedPort(t *testing.T) {
	requested := nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}}
	tests := []struct {
		name      string
		published nat.PortMap
		want      int
	}{
		{"not running", nil, 0},
		{"loopback binding", nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "49153"}}}, 49153},
		{"other address only", nat.PortMap{"8080/tcp": {{HostIP: "0.0.0.0", HostPort: "49153"}}}, 0},
		{"other port only", nat.PortMap{"9090/tcp": {{HostIP: "127.0.0.1", HostPort: "49153"}}}, 0},
		{"malformed host port", nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "x"}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := publishedPort(requested, tt.published); got != tt.want {
				t.Errorf("publishedPort = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestContainerFromInspect(t *testing.T) {
	pids := int64(32)
	resp := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:    "abc",
			Name:  "/sessiond-a",
			Image: "sha256:123",
			State: &container.State{
				Status:     container.StateExited,
				ExitCode:   137,
				OOMKilled:  true,
				Error:      "",
				StartedAt:  "2025-03-01T12:00:00.5Z",
				FinishedAt: "0001-01-01T00:00:00Z",
			},
			HostConfig: &container.HostConfig{
				PortBindings: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}},
				Resources:    container.Resources{Memory: 1 << 26, NanoCPUs: 1e9, PidsLimit: &pids},
			},
		},
		Config: &container.Config{Image: "sessiond-sandbox:latest", Labels: map[string]string{LabelSession: "a"}},
		NetworkSettings: &container.NetworkSettings{NetworkSettingsBase: container.NetworkSettingsBase{
			Ports: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "40001"}}},
		}},
	}
	got := containerFromInspect(resp)

	want := Container{
		ID:          "abc",
		Name:        "sessiond-a",
		Image:       "sessiond-sandbox:latest",
		Labels:      map[string]string{LabelSession: "a"},
		State:       "exited",
		ExitCode:    137,
		OOMKilled:   true,
		HostPort:    40001,
		StartedAt:   time.Date(2025, 3, 1, 12, 0, 0, 500_000_000, time.UTC),
		MemoryBytes: 1 << 26,
		NanoCPUs:    1e9,
		PidsLimit:   32,
	}
	if got.ID != want.ID || got.Name != want.Name || got.Image != want.Image {
		t.Errorf("id, name, image = %q, %q, %q; want %q, %q, %q", got.ID, got.Name, got.Image, want.ID, want.Name, want.Image)
	}
	if got.State != want.State || got.Running || got.ExitCode != want.ExitCode || got.OOMKilled != want.OOMKilled {
		t.Errorf("state = %+v, want exited, not running, exit code 137, OOM killed", got)
	}
	if got.HostPort != want.HostPort {
		t.Errorf("host port = %d, want %d", got.HostPort, want.HostPort)
	}
	if !got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("started at = %v, want %v", got.StartedAt, want.StartedAt)
	}
	if !got.FinishedAt.IsZero() {
		t.Errorf("finished at = %v, want the zero time", got.FinishedAt)
	}
	if got.MemoryBytes != want.MemoryBytes || got.NanoCPUs != want.NanoCPUs || got.PidsLimit != want.PidsLimit {
		t.Errorf("limits = %d, %d, %d; want %d, %d, %d", got.MemoryBytes, got.NanoCPUs, got.PidsLimit, want.MemoryBytes, want.NanoCPUs, want.PidsLimit)
	}
	if !maps.Equal(got.Labels, want.Labels) {
		t.Errorf("labels = %v, want %v", got.Labels, want.Labels)
	}
}

func TestContainerFromInspectMissingSections(t *testing.T) {
	got := containerFromInspect(container.InspectResponse{})
	if got.ID != "" || got.State != "" || got.HostPort != 0 {
		t.Errorf("containerFromInspect(empty) = %+v, want the zero Container", got)
	}
}

func TestContainerFromSummary(t *testing.T) {
	summary := container.Summary{
		ID:     "abc",
		Names:  []string{"/sessiond-a"},
		Image:  "sessiond-sandbox:latest",
		Labels: map[string]string{LabelSession: "a"},
		State:  container.StateRunning,
		Ports: []container.Port{
			{IP: "0.0.0.0", PrivatePort: 9000, PublicPort: 30000, Type: "tcp"},
			{IP: "127.0.0.1", PrivatePort: 9090, PublicPort: 40002, Type: "tcp"},
			{IP: "127.0.0.1", PrivatePort: 8080, PublicPort: 40001, Type: "tcp"},
			{IP: "127.0.0.1", PrivatePort: 53, PublicPort: 40003, Type: "udp"},
			{PrivatePort: 7000, Type: "tcp"},
		},
	}
	got := containerFromSummary(summary)

	if got.Name != "sessiond-a" {
		t.Errorf("name = %q, want sessiond-a", got.Name)
	}
	if !got.Running || got.State != "running" {
		t.Errorf("state = %q, running = %v; want running, true", got.State, got.Running)
	}
	if got.HostPort != 40001 {
		t.Errorf("host port = %d, want 40001 (the lowest container port on 127.0.0.1)", got.HostPort)
	}
}

func TestLabelFilters(t *testing.T) {
	args := labelFilters(map[string]string{"sessiond.user": "alice", "sessiond.session": ""})
	got := args.Get("label")
	if len(got) != 2 {
		t.Fatalf("label filters = %q, want 2", got)
	}
	if !args.ExactMatch("label", "sessiond.user=alice") {
		t.Errorf("label filters = %q, want sessiond.user=alice", got)
	}
	if !args.ExactMatch("label", "sessiond.session") {
		t.Errorf("label filters = %q, want the bare key sessiond.session", got)
	}
}

func TestEventFromMessage(t *testing.T) {
	msg := events.Message{
		Type:   events.ContainerEventType,
		Action: events.ActionDie,
		Actor: events.Actor{
			ID:         "abc",
			Attributes: map[string]string{"exitCode": "3", LabelSession: "a", "name": "sessiond-a"},
		},
		Time:     1700000000,
		TimeNano: 1700000000123456789,
	}
	got := eventFromMessage(msg)

	if got.Action != ActionDie || got.ContainerID != "abc" {
		t.Errorf("action, container = %q, %q; want die, abc", got.Action, got.ContainerID)
	}
	if got.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3", got.ExitCode)
	}
	if got.Labels[LabelSession] != "a" {
		t.Errorf("labels = %v, want %s=a", got.Labels, LabelSession)
	}
	if !got.Time.Equal(time.Unix(0, 1700000000123456789)) {
		t.Errorf("time = %v, want the nanosecond time", got.Time)
	}
}

func TestHealthStatus(t *testing.T) {
	tests := []struct {
		action string
		want   string
		ok     bool
	}{
		{"health_status: unhealthy", "unhealthy", true},
		{"health_status: healthy", "healthy", true},
		{"die", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			got, ok := HealthStatus(Event{Action: tt.action})
			if got != tt.want || ok != tt.ok {
				t.Errorf("HealthStatus = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
