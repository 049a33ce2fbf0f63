package task

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueue(t *testing.T) {
	// Each step pushes or pops a number of tasks; the queue must hand them
	// back in order across wrap-arounds and growth.
	tests := []struct {
		name  string
		steps []int // >0 push that many, <0 pop that many
	}{
		{"push and pop one", []int{1, -1}},
		{"fill the first ring exactly", []int{minQueueCap, -minQueueCap}},
		{"grow from empty", []int{minQueueCap*3 + 1, -(minQueueCap*3 + 1)}},
		{"wrap around", []int{10, -7, 10, -13}},
		{"grow while wrapped", []int{10, -7, 20, -23}},
		{"interleaved", []int{3, -1, 3, -1, 30, -2, 5, -37}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q queue
			pushed, popped := 0, 0
			for _, step := range tt.steps {
				for ; step > 0; step-- {
					q.push(numbered(pushed))
					pushed++
				}
				for ; step < 0; step++ {
					got := q.pop()
					require.NotNil(t, got, "pop %d", popped)
					require.Equal(t, popped, number(got), "pop %d", popped)
					popped++
				}
				require.Equal(t, pushed-popped, q.len())
			}
			assert.Nil(t, q.pop(), "pop from an empty queue")
			for i, slot := range q.ring {
				assert.Nil(t, slot, "slot %d keeps a popped task alive", i)
			}
		})
	}
}

func TestQueueClear(t *testing.T) {
	var q queue
	for i := range 10 {
		q.push(numbered(i))
	}
	q.pop()
	assert.Equal(t, 9, q.clear())
	assert.Zero(t, q.len())
	for i, slot := range q.ring {
		assert.Nil(t, slot, "slot %d keeps a dropped task alive", i)
	}
	q.push(numbered(42))
	assert.Equal(t, 42, number(q.pop()))
}

func TestQueueReusesItsRing(t *testing.T) {
	var q queue
	task := Func(func() {})
	for range 100 {
		q.push(task)
	}
	q.clear()
	allocs := testing.AllocsPerRun(100, func() {
		for range 100 {
			q.push(task)
		}
		for range 100 {
			q.pop()
		}
	})
	assert.Zero(t, allocs)
}

// numbered returns a task that records i in last, so that tests can tell
// tasks apart without running them concurrently.
func numbered(i int) Task { return Func(func() { last = i }) }

var last int

func number(t Task) int {
	t.Run()
	return last
}
