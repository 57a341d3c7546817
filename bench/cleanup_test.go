package main

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/sessiond/sessiond/docker"
)

// fakeEngine lists its containers that carry every requested label and
// drops a container when it is removed.
type fakeEngine struct {
	containers []docker.Container
	removed    []string
	listErr    error
}

func (e *fakeEngine) ListContainers(_ context.Context, labels map[string]string) ([]docker.Container, error) {
	if e.listErr != nil {
		return nil, e.listErr
	}
	var found []docker.Container
	for _, ctr := range e.containers {
		match := true
		for key, value := range labels {
			if ctr.Labels[key] != value {
				match = false
			}
		}
		if match {
			found = append(found, ctr)
		}
	}
	return found, nil
}

func (e *fakeEngine) RemoveContainer(_ context.Context, id string) error {
	e.removed = append(e.removed, id)
	for i, ctr := range e.containers {
		if ctr.ID == id {
			e.containers = append(e.containers[:i], e.containers[i+1:]...)
			break
		}
	}
	return nil
}

func TestRemoveLeftovers(t *testing.T) {
	ours := map[string]string{benchLabel: "run1", docker.LabelInstance: "bench-run1-adaptive-c1"}
	other := maps.Clone(ours)
	other[docker.LabelInstance] = "bench-run1-inline-c1"
	engine := &fakeEngine{containers: []docker.Container{
		{ID: "a", State: "running", Labels: ours},
		{ID: "b", State: "removing", Labels: ours},
		{ID: "c", State: "running", Labels: other},
	}}

	leftovers, err := removeLeftovers(engine, ours)
	if err != nil {
		t.Fatalf("removeLeftovers: %v", err)
	}
	// A container that the daemon is already removing is not a leftover,
	// but it is removed all the same.
	if leftovers != 1 {
		t.Errorf("%d leftovers, want 1", leftovers)
	}
	if len(engine.removed) != 2 || engine.removed[0] != "a" || engine.removed[1] != "b" {
		t.Errorf("removed %q, want a and b", engine.removed)
	}
	if len(engine.containers) != 1 || engine.containers[0].ID != "c" {
		t.Errorf("the other instance's container was touched: %+v", engine.containers)
	}
}

func TestRemoveLeftoversNone(t *testing.T) {
	engine := &fakeEngine{}
	leftovers, err := removeLeftovers(engine, map[string]string{benchLabel: "run1"})
	if leftovers != 0 || err != nil {
		t.Errorf("got %d, %v", leftovers, err)
	}
}

func TestRemoveLeftoversListFails(t *testing.T) {
	engine := &fakeEngine{listErr: errors.New("daemon down")}
	_, err := removeLeftovers(engine, map[string]string{benchLabel: "run1"})
	if err == nil {
		t.Fatal("no error when the list fails")
	}
	if want := "list containers labelled sessiond-bench=run1: daemon down"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if got := countContainers(engine); got != -1 {
		t.Errorf("countContainers %d, want -1", got)
	}
}
