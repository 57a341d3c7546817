package docker

// Labels that sessiond puts on every container it makes. They carry enough
// to rebuild a session from Docker alone.
const (
	LabelSession  = "sessiond.session"
	LabelUser     = "sessiond.user"
	LabelInstance = "sessiond.instance"
	// LabelSpec holds the session spec as JSON.
	LabelSpec = "sessiond.spec"
	// LabelCreated holds the session's creation time in RFC 3339 with
	// nanoseconds.
	LabelCreated = "sessiond.created"
)
