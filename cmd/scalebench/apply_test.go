package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelStopsAtTheFirstError(t *testing.T) {
	var mu sync.Mutex
	var done []int
	err := parallel(context.Background(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, func(i int) error {
		mu.Lock()
		defer mu.Unlock()
		done = append(done, i)
		return nil
	})
	if err != nil || len(done) != 10 {
		t.Fatalf("all ten without an error: got %v, %d done", err, len(done))
	}
	items := make([]int, 1000)
	var started atomic.Int64
	err = parallel(context.Background(), items, func(int) error {
		if started.Add(1) == 3 {
			return errors.New("third")
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if err == nil || err.Error() != "third" {
		t.Fatalf("want the third item's error, got %v", err)
	}
	if n := started.Load(); n > 100 {
		t.Fatalf("%d of 1000 items started after the error; the feed should stop", n)
	}
}
