package stress

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runner drives the scenario's workers against a backend and records every
// step. Each worker runs sessions one after the other until the session
// count is used up or the run's context ends.
type runner struct {
	opts    options
	backend backend
	rec     *recorder
	runID   string

	// next is the sequence number of the last session claimed by a worker.
	next atomic.Int64

	started   atomic.Int64
	ready     atomic.Int64
	completed atomic.Int64
	inFlight  atomic.Int64

	// live holds the sessions that exist on the target and are not deleted
	// yet, by sequence number, for the cleanup after the workload.
	liveMu sync.Mutex
	live   map[int]*session
}

func newRunner(opts options, b backend, rec *recorder, runID string) *runner {
	return &runner{
		opts:    opts,
		backend: b,
		rec:     rec,
		runID:   runID,
		live:    make(map[int]*session),
	}
}

// run starts the workers and returns when all of them have stopped. ctx
// carries the run's deadline; operations in flight when it ends are
// canceled.
func (r *runner) run(ctx context.Context) {
	var workers sync.WaitGroup

	// gate holds the burst's workers back until every one of them is
	// waiting, so that all creates leave at the same instant.
	gate := make(chan struct{})
	var armed sync.WaitGroup

	for i := range r.opts.workers {
		delay := time.Duration(0)
		if r.opts.ramp > 0 {
			delay = r.opts.ramp * time.Duration(i) / time.Duration(r.opts.workers)
		}
		workers.Add(1)
		armed.Add(1)
		go func() {
			defer workers.Done()
			armed.Done()
			if r.opts.scenario == scenarioBurst {
				<-gate
			}
			r.work(ctx, delay)
		}()
	}
	armed.Wait()
	close(gate)
	workers.Wait()
}

// work is one worker's loop. It runs at most the sessions it can claim and
// stops when ctx ends.
func (r *runner) work(ctx context.Context, delay time.Duration) {
	if delay > 0 && !sleep(ctx, delay) {
		return
	}
	for ctx.Err() == nil {
		seq, ok := r.claim()
		if !ok {
			return
		}
		pause := r.cycle(ctx, seq)
		if r.opts.scenario == scenarioBurst {
			return
		}
		if pause > 0 && !sleep(ctx, pause) {
			return
		}
	}
}

// claim returns the next session's sequence number, or false once the
// run's session count is used up.
func (r *runner) claim() (int, bool) {
	seq := int(r.next.Add(1))
	if r.opts.sessions > 0 && seq > r.opts.sessions {
		return 0, false
	}
	return seq, true
}

// userFor assigns sessions to users round-robin.
func (r *runner) userFor(seq int) string {
	return fmt.Sprintf("%s%d", userPrefix(r.runID), (seq-1)%r.opts.users+1)
}

// cycle runs one session through create, ready, the hold of create-hold,
// and delete. It returns how long the worker should pause before its next
// session: the Retry-After of a rejected create, or one poll interval after
// any other failed create so that a target that fails every request at once
// is not flooded.
func (r *runner) cycle(ctx context.Context, seq int) time.Duration {
	s := &session{seq: seq, user: r.userFor(seq)}
	r.started.Add(1)
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)

	start := time.Now()
	err := r.backend.create(ctx, s)
	if s.id != "" {
		r.track(s)
	}
	r.rec.record(opCreate, time.Since(start), err)
	if err != nil {
		r.rec.record(opCycle, 0, err)
		if s.id != "" && ctx.Err() == nil {
			r.delete(ctx, s)
		}
		if pause := retryAfter(err); pause > 0 {
			return pause
		}
		return r.opts.pollInterval
	}

	if !s.ready {
		readyCtx, cancel := context.WithDeadline(ctx, start.Add(r.opts.wait))
		err = r.backend.waitReady(readyCtx, s)
		cancel()
	}
	r.rec.record(opReady, time.Since(start), err)
	if err == nil {
		r.ready.Add(1)
		if r.opts.scenario == scenarioCreateHold {
			err = r.hold(ctx, s)
		}
	}

	// Once the run has ended, the cleanup deletes what is left, so a delete
	// here would only be counted as canceled.
	if ctx.Err() != nil {
		r.rec.record(opCycle, time.Since(start), ctx.Err())
		return 0
	}
	deleteErr := r.delete(ctx, s)
	if err == nil {
		err = deleteErr
	}
	r.rec.record(opCycle, time.Since(start), err)
	if err == nil {
		r.completed.Add(1)
	}
	return 0
}

// hold keeps a ready session for --hold and polls its status every poll
// interval. It returns the first failed poll's error. Holding ends early
// when ctx ends, which is not an error of the session.
func (r *runner) hold(ctx context.Context, s *session) error {
	end := time.Now().Add(r.opts.hold)
	for {
		remaining := time.Until(end)
		if remaining <= 0 {
			return nil
		}
		if !sleep(ctx, min(r.opts.pollInterval, remaining)) {
			return nil
		}
		if !time.Now().Before(end) {
			return nil
		}
		start := time.Now()
		err := r.backend.poll(ctx, s)
		r.rec.record(opGet, time.Since(start), err)
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// delete removes the session, records the delete and stops tracking the
// session once it is gone. The delete may take --wait plus one request timeout.
func (r *runner) delete(ctx context.Context, s *session) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.wait+r.opts.timeout)
	defer cancel()
	start := time.Now()
	err := r.backend.delete(ctx, s)
	r.rec.record(opDelete, time.Since(start), err)
	if err == nil {
		r.untrack(s)
	}
	return err
}

func (r *runner) track(s *session) {
	r.liveMu.Lock()
	defer r.liveMu.Unlock()
	r.live[s.seq] = s
}

func (r *runner) untrack(s *session) {
	r.liveMu.Lock()
	defer r.liveMu.Unlock()
	delete(r.live, s.seq)
}

// cleanupResult counts what the cleanup after the workload removed.
type cleanupResult struct {
	released int
	swept    int
	leftover int
	// sweepFailed is set when the sweep could not finish, so leftover may
	// be too low.
	sweepFailed bool
	errors      []error
}

// cleanup releases the sessions that the workload left behind, with as many
// at once as the run had workers, and then sweeps the target by run id. ctx
// must not be the run's context, which has ended by now.
func (r *runner) cleanup(ctx context.Context) cleanupResult {
	r.liveMu.Lock()
	pending := make([]*session, 0, len(r.live))
	for _, s := range r.live {
		pending = append(pending, s)
	}
	r.liveMu.Unlock()

	var result cleanupResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, r.opts.workers)
	for _, s := range pending {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := r.backend.release(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				result.errors = append(result.errors, fmt.Errorf("delete session %d (%s): %w", s.seq, s.id, err))
				return
			}
			result.released++
		}()
	}
	wg.Wait()

	swept, remaining, err := r.backend.sweep(ctx)
	result.swept = swept
	result.leftover = remaining
	if err != nil {
		result.sweepFailed = true
		result.errors = append(result.errors, err)
	}
	return result
}
