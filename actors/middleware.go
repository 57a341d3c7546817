package actors

import (
	"fmt"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"
)

// panicLogger logs a panic in Receive at ERROR with its stack and panics
// again so the supervisor still sees the failure. protoactor itself logs
// panics at INFO without a stack.
func panicLogger(logger hclog.Logger) actor.ReceiverMiddleware {
	logger = logger.Named("actors")
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			defer func() {
				if r := recover(); r != nil {
					logger.Error("actor panicked", "pid", c.Self().Id,
						"message_type", fmt.Sprintf("%T", env.Message), "panic", r,
						"stack", string(debug.Stack()))
					panic(r)
				}
			}()
			next(c, env)
		}
	}
}

// workerDecider restarts a failed Docker worker.
func workerDecider(logger hclog.Logger) actor.DeciderFunc {
	return func(reason any) actor.Directive {
		logger.Warn("restarting failed docker actor", "reason", fmt.Sprint(reason))
		return actor.RestartDirective
	}
}
