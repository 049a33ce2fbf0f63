package task

// minQueueCap is the first allocation of a queue's ring; a power of two so
// that indices wrap with a mask.
const minQueueCap = 16

// queue is a FIFO of tasks in a ring buffer. The ring doubles when full and
// never shrinks: its size follows the peak backlog, which the one-task-per-
// connection contract bounds by the connection count, and keeping it means a
// pool that has seen its peak never allocates in Submit again.
//
// A queue is not safe for concurrent use; the pool guards it with its mutex.
type queue struct {
	ring []Task // len is zero or a power of two
	head int    // index of the oldest task
	n    int    // number of tasks held
}

func (q *queue) len() int { return q.n }

func (q *queue) push(t Task) {
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = t
	q.n++
}

// pop returns the oldest task, or nil if the queue is empty.
func (q *queue) pop() Task {
	if q.n == 0 {
		return nil
	}
	t := q.ring[q.head]
	// The slot would otherwise keep the task's closure, and the request it
	// captured, reachable until the ring wraps around to it again.
	q.ring[q.head] = nil
	q.head = (q.head + 1) & (len(q.ring) - 1)
	q.n--
	return t
}

// clear drops every task and reports how many there were.
func (q *queue) clear() int {
	n := q.n
	for q.n > 0 {
		q.pop()
	}
	q.head = 0
	return n
}

func (q *queue) grow() {
	ring := make([]Task, max(2*len(q.ring), minQueueCap))
	// Unwrap the full ring so that the oldest task lands at index 0.
	k := copy(ring, q.ring[q.head:])
	copy(ring[k:], q.ring[:q.head])
	q.ring = ring
	q.head = 0
}
