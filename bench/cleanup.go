package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sessiond/sessiond/docker"
)

// benchLabel marks every container of a benchmark run, with the run id as
// its value, through sessiond's CONTAINER_LABELS. sessiond reserves the
// keys that start with "sessiond." except sessiond.test, which the tests
// sweep, so the key has a dash instead of a dot.
const benchLabel = "sessiond-bench"

// containerEngine is the part of the Docker engine that the leftover checks
// use.
type containerEngine interface {
	ListContainers(ctx context.Context, labels map[string]string) ([]docker.Container, error)
	RemoveContainer(ctx context.Context, idOrName string) error
}

var _ containerEngine = (*docker.Client)(nil)

const (
	// dockerCallTimeout bounds each list and remove of the checks.
	dockerCallTimeout = 30 * time.Second
	// goneTimeout bounds the wait until removed containers are no longer
	// listed.
	goneTimeout = 15 * time.Second
)

// removeLeftovers removes every container that carries all of labels and
// waits until none is listed. It returns how many it found that were not
// already being removed: what sessiond or the harness left behind. The checks use
// their own time limits, not a caller's context, so that they also run
// after an interrupt.
func removeLeftovers(engine containerEngine, labels map[string]string) (int, error) {
	found, err := listContainers(engine, labels)
	if err != nil {
		return 0, err
	}
	leftovers := 0
	var errs []error
	for _, ctr := range found {
		// The daemon lists a container as "removing" while a remove call,
		// such as sessiond's at shutdown, is still deleting it.
		if ctr.State != "removing" {
			leftovers++
		}
		ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
		if err := engine.RemoveContainer(ctx, ctr.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove leftover container %s: %w", shortID(ctr.ID), err))
		}
		cancel()
	}
	if len(found) == 0 {
		return 0, nil
	}

	deadline := time.Now().Add(goneTimeout)
	for {
		remaining, err := listContainers(engine, labels)
		if err != nil {
			return leftovers, errors.Join(append(errs, err)...)
		}
		if len(remaining) == 0 {
			return leftovers, errors.Join(errs...)
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("%d containers labelled %s still listed %s after their removal", len(remaining), formatLabels(labels), goneTimeout))
			return leftovers, errors.Join(errs...)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func listContainers(engine containerEngine, labels map[string]string) ([]docker.Container, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
	defer cancel()
	found, err := engine.ListContainers(ctx, labels)
	if err != nil {
		return nil, fmt.Errorf("list containers labelled %s: %w", formatLabels(labels), err)
	}
	return found, nil
}

// countContainers returns the number of containers on the daemon, or -1
// when the list fails.
func countContainers(engine containerEngine) int {
	found, err := listContainers(engine, nil)
	if err != nil {
		return -1
	}
	return len(found)
}

func formatLabels(labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for key, value := range labels {
		pairs = append(pairs, key+"="+value)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
