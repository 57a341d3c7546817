package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// maxRedeliveries bounds how often a request that reached a stopped
// session actor goes back to the supervisor.
const maxRedeliveries = 3

// answerDeadLetters makes sure that a request sent to a session actor that
// stopped meanwhile still gets an answer: the caller waits on its reply
// channel and would otherwise time out. Such a request goes back to the
// supervisor, which answers from the ended session's record; after a few
// rounds it is answered with an error. It runs on the sender's goroutine,
// as protoactor publishes dead letters there.
func (s *System) answerDeadLetters(evt any) {
	dl, ok := evt.(*actor.DeadLetterEvent)
	if !ok {
		return
	}
	gone := &Error{Code: CodeNotFound, Message: "the session's actor stopped; try again"}
	switch msg := dl.Message.(type) {
	case *GetSessionRequest:
		if msg.hops++; msg.hops <= maxRedeliveries {
			s.system.Root.Send(s.sessions, msg)
			return
		}
		msg.Reply <- infoReply{Err: gone}
	case *WaitSessionRequest:
		if msg.hops++; msg.hops <= maxRedeliveries {
			s.system.Root.Send(s.sessions, msg)
			return
		}
		msg.Reply <- infoReply{Err: gone}
	case *StopSession:
		if msg.hops++; msg.hops <= maxRedeliveries {
			s.system.Root.Send(s.sessions, msg)
			return
		}
		if msg.Reply != nil {
			msg.Reply <- infoReply{Err: gone}
		}
	case *DescribeRequest:
		msg.Reply <- describeReply{Node: TreeNode{Name: dl.PID.Id, PID: dl.PID.Id, Kind: "unknown", State: "stopped"}}
	}
}
