// SPDX-License-Identifier: MIT

// A worker goroutine panics with a custom error type while others are parked
// in known functions: a channel receive, a sync.Mutex Lock, time.Sleep.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// OrderError is the panic value: its dynamic type is *main.OrderError.
type OrderError struct{ ID int }

func (e *OrderError) Error() string { return fmt.Sprintf("payment %d declined", e.ID) }

//go:noinline
func parkedReceive(ch chan int, started *sync.WaitGroup) {
	started.Done()
	<-ch
}

//go:noinline
func parkedLock(mu *sync.Mutex, started *sync.WaitGroup) {
	started.Done()
	mu.Lock()
}

//go:noinline
func parkedSleep(started *sync.WaitGroup) {
	started.Done()
	time.Sleep(time.Hour)
}

//go:noinline
func chargeOrder(id int) {
	fmt.Printf("crash_tid=%d\n", syscall.Gettid())
	panic(&OrderError{ID: id})
}

func main() {
	fmt.Printf("pid=%d\ntid=%d\n", os.Getpid(), syscall.Gettid())
	var started sync.WaitGroup
	var mu sync.Mutex
	ch := make(chan int)
	mu.Lock()
	started.Add(3)
	go parkedReceive(ch, &started)
	go parkedLock(&mu, &started)
	go parkedSleep(&started)
	started.Wait()
	time.Sleep(50 * time.Millisecond) // each is parked by now
	fmt.Println("ready=1")
	waitGo()
	done := make(chan struct{})
	go func() {
		chargeOrder(7)
		close(done)
	}()
	<-done
}

// waitGo blocks until a line (or EOF) on stdin: a test lets it crash once
// the watcher has probed it; run with stdin at EOF, it crashes at once.
func waitGo() {
	bufio.NewReader(os.Stdin).ReadString('\n')
}
