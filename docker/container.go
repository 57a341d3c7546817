package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"
)

// publishHostIP is the only host address that container ports are
// published on, so sessions are reachable from this host alone.
const publishHostIP = "127.0.0.1"

// CreateContainer creates the container that spec describes and returns
// its ID. The container has no restart policy because sessiond decides on
// restarts itself.
func (c *Client) CreateContainer(ctx context.Context, spec ContainerSpec) (string, error) {
	op := "create container " + spec.Name
	if err := validateSpec(spec); err != nil {
		return "", &Error{Kind: KindInvalid, Op: op, Err: err}
	}

	config, hostConfig := containerConfigs(spec)
	created, err := c.api.ContainerCreate(ctx, config, hostConfig, nil, nil, spec.Name)
	if err != nil {
		return "", classify(op, err)
	}
	c.warnDaemonWarnings("create container", created.Warnings)
	return created.ID, nil
}

// validateSpec checks what the daemon would otherwise reject with a less
// clear message, or accept with a surprising meaning (a negative limit).
func validateSpec(spec ContainerSpec) error {
	switch {
	case spec.Name == "":
		return errors.New("invalid container spec: name is empty")
	case spec.Image == "":
		return errors.New("invalid container spec: image is empty")
	case spec.Port < 0 || spec.Port > 65535:
		return fmt.Errorf("invalid container spec: port %d is outside 0-65535", spec.Port)
	case spec.MemoryBytes < 0:
		return fmt.Errorf("invalid container spec: memory limit %d bytes is negative", spec.MemoryBytes)
	case spec.NanoCPUs < 0:
		return fmt.Errorf("invalid container spec: CPU limit %d nanoCPUs is negative", spec.NanoCPUs)
	case spec.PidsLimit < 0:
		return fmt.Errorf("invalid container spec: pids limit %d is negative", spec.PidsLimit)
	}
	return nil
}

// containerConfigs turns spec into the daemon's create request. A zero
// limit or port means none.
func containerConfigs(spec ContainerSpec) (*container.Config, *container.HostConfig) {
	config := &container.Config{
		Image:  spec.Image,
		Cmd:    slices.Clone(spec.Cmd),
		Env:    EnvList(spec.Env),
		Labels: maps.Clone(spec.Labels),
	}
	hostConfig := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		AutoRemove:    false,
		Resources: container.Resources{
			Memory: spec.MemoryBytes,
			// Memory+swap equal to memory leaves the container no swap.
			MemorySwap: spec.MemoryBytes,
			NanoCPUs:   spec.NanoCPUs,
		},
	}
	if spec.PidsLimit > 0 {
		pids := spec.PidsLimit
		hostConfig.Resources.PidsLimit = &pids
	}
	if spec.Port > 0 {
		port := sessionPort(spec.Port)
		config.ExposedPorts = nat.PortSet{port: struct{}{}}
		// An empty HostPort lets Docker choose a free port.
		hostConfig.PortBindings = nat.PortMap{
			port: {{HostIP: publishHostIP, HostPort: ""}},
		}
	}
	return config, hostConfig
}

// sessionPort returns the TCP port key Docker uses for a container port.
func sessionPort(port int) nat.Port {
	return nat.Port(strconv.Itoa(port) + "/tcp")
}

// StartContainer starts a created container. Starting a running container
// succeeds: the daemon responds with 304 Not Modified, which the client library
// returns as success.
func (c *Client) StartContainer(ctx context.Context, idOrName string) error {
	err := c.api.ContainerStart(ctx, idOrName, container.StartOptions{})
	return classify("start container "+idOrName, err)
}

// InspectContainer returns the container's state, limits and published
// port.
func (c *Client) InspectContainer(ctx context.Context, idOrName string) (Container, error) {
	resp, err := c.api.ContainerInspect(ctx, idOrName)
	if err != nil {
		return Container{}, classify("inspect container "+idOrName, err)
	}
	return containerFromInspect(resp), nil
}

// containerFromInspect converts the daemon's inspect response. Pointer
// sections the daemon left out leave their fields at zero.
func containerFromInspect(resp container.InspectResponse) Container {
	var ctr Container
	if resp.ContainerJSONBase != nil {
		ctr.ID = resp.ID
		ctr.Name = strings.TrimPrefix(resp.Name, "/")
		// The image ID; replaced below by the name the container was made with.
		ctr.Image = resp.Image
	}
	if resp.Config != nil {
		ctr.Image = resp.Config.Image
		ctr.Labels = resp.Config.Labels
	}
	if resp.ContainerJSONBase != nil && resp.State != nil {
		state := resp.State
		ctr.State = string(state.Status)
		ctr.Running = state.Running
		ctr.ExitCode = state.ExitCode
		ctr.OOMKilled = state.OOMKilled
		ctr.Error = state.Error
		ctr.StartedAt = parseDockerTime(state.StartedAt)
		ctr.FinishedAt = parseDockerTime(state.FinishedAt)
	}
	if resp.ContainerJSONBase != nil && resp.HostConfig != nil {
		hostConfig := resp.HostConfig
		ctr.MemoryBytes = hostConfig.Memory
		ctr.NanoCPUs = hostConfig.NanoCPUs
		if hostConfig.PidsLimit != nil {
			ctr.PidsLimit = *hostConfig.PidsLimit
		}
		if resp.NetworkSettings != nil {
			ctr.HostPort = publishedPort(hostConfig.PortBindings, resp.NetworkSettings.Ports)
		}
	}
	return ctr
}

// publishedPort returns the host port on publishHostIP that Docker chose
// for a port the container asked to publish, or 0 while there is none.
// Docker lists published ports only while the container runs. sessiond
// requests one port. With more, the lowest port number wins.
func publishedPort(requested, published nat.PortMap) int {
	ports := slices.Collect(maps.Keys(requested))
	slices.SortFunc(ports, func(a, b nat.Port) int { return a.Int() - b.Int() })
	for _, port := range ports {
		for _, binding := range published[port] {
			if binding.HostIP != publishHostIP {
				continue
			}
			if hostPort, err := strconv.Atoi(binding.HostPort); err == nil && hostPort > 0 {
				return hostPort
			}
		}
	}
	return 0
}

// parseDockerTime parses the daemon's RFC 3339 times. The daemon writes
// 0001-01-01T00:00:00Z for "never", which parses to the zero time.
func parseDockerTime(value string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}
	}
	return t
}

// RemoveContainer kills and removes a container and its anonymous volumes.
// A container that is already gone, or that the daemon is already
// removing, counts as removed. In the second case RemoveContainer returns
// while the other removal may still run, so an inspect right after it can
// still find the container in state "removing".
func (c *Client) RemoveContainer(ctx context.Context, idOrName string) error {
	err := c.api.ContainerRemove(ctx, idOrName, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil {
		return nil
	}
	classified := classify("remove container "+idOrName, err)
	switch KindOf(classified) {
	case KindNotFound:
		return nil
	case KindConflict:
		if isRemovalInProgress(err) {
			c.logger.Debug("container removal already in progress", "container", idOrName)
			return nil
		}
	}
	return classified
}

// isRemovalInProgress reports the conflict the daemon returns when another
// request is already removing the container.
func isRemovalInProgress(err error) bool {
	// The daemon responds with 409 Conflict and the message "removal of
	// container <name> is already in progress". The client library has no
	// typed error for this case, so the message is matched. Other conflicts
	// stay errors.
	return strings.Contains(err.Error(), "is already in progress")
}

// ListContainers returns all containers, running or not, that carry every
// label in labels. A label with an empty value matches any value. Limits,
// exit codes and times are not in the daemon's list response and stay
// zero, so use InspectContainer for them.
func (c *Client) ListContainers(ctx context.Context, labels map[string]string) ([]Container, error) {
	summaries, err := c.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: labelFilters(labels),
	})
	if err != nil {
		return nil, classify("list containers", err)
	}
	containers := make([]Container, 0, len(summaries))
	for _, summary := range summaries {
		containers = append(containers, containerFromSummary(summary))
	}
	return containers, nil
}

// labelFilters turns labels into the daemon's label filters: "key=value",
// or "key" alone for an empty value.
func labelFilters(labels map[string]string) filters.Args {
	args := filters.NewArgs()
	for key, value := range labels {
		if value == "" {
			args.Add("label", key)
		} else {
			args.Add("label", key+"="+value)
		}
	}
	return args
}

// containerFromSummary converts one entry of the daemon's list response.
func containerFromSummary(summary container.Summary) Container {
	ctr := Container{
		ID:      summary.ID,
		Image:   summary.Image,
		Labels:  summary.Labels,
		State:   string(summary.State),
		Running: summary.State == container.StateRunning,
	}
	if len(summary.Names) > 0 {
		ctr.Name = strings.TrimPrefix(summary.Names[0], "/")
	}
	// The list response does not say which port the container asked to
	// publish, so take the TCP port published on publishHostIP; sessiond
	// publishes one. With more, the lowest container port wins, as in
	// InspectContainer.
	var privatePort uint16
	for _, port := range summary.Ports {
		if port.IP != publishHostIP || port.Type != "tcp" || port.PublicPort == 0 {
			continue
		}
		if ctr.HostPort == 0 || port.PrivatePort < privatePort {
			ctr.HostPort = int(port.PublicPort)
			privatePort = port.PrivatePort
		}
	}
	return ctr
}
