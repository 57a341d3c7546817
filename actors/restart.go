package actors

import "time"

// restartPolicy decides what happens to a session whose container died.
type restartPolicy struct {
	// Max is the number of re-creations allowed within Window; 0 never
	// restarts.
	Max     int
	Window  time.Duration
	Backoff time.Duration
}

// decide returns whether to re-create the container after a death at now,
// given the times of earlier restarts, and the delay before doing so. The
// delay doubles with each restart inside the window: Backoff, 2*Backoff,
// 4*Backoff, capped at one minute.
func (p restartPolicy) decide(previous []time.Time, now time.Time) (restart bool, delay time.Duration) {
	if p.Max <= 0 {
		return false, 0
	}
	recent := 0
	for _, t := range previous {
		if now.Sub(t) < p.Window {
			recent++
		}
	}
	if recent >= p.Max {
		return false, 0
	}
	delay = p.Backoff << recent
	if delay <= 0 || delay > time.Minute {
		delay = time.Minute
	}
	return true, delay
}

// prune drops restart times that fell out of the window, so the slice
// stays as short as Max.
func (p restartPolicy) prune(times []time.Time, now time.Time) []time.Time {
	kept := times[:0]
	for _, t := range times {
		if now.Sub(t) < p.Window {
			kept = append(kept, t)
		}
	}
	return kept
}
