// parked: goroutines parked in known functions, for crashwatch-snapshot's
// goroutine tests.  Prints "ready" once all are parked, then waits.
//
//	parked [N]                 three named waiters (+ N extra sleepers)
//	parked panic-string|panic-errors|panic-custom|panic-bounds
//	                           the same, then a worker panics when SIGUSR1 comes
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type OrderError struct {
	Order int
}

func (e *OrderError) Error() string { return fmt.Sprintf("order %d failed", e.Order) }

var (
	ch    = make(chan int)
	mu    sync.Mutex
	ready sync.WaitGroup
	sink  []int
)

//go:noinline
func waitOnChannel() {
	ready.Done()
	<-ch
}

//go:noinline
func waitOnMutex() {
	ready.Done()
	mu.Lock()
}

//go:noinline
func sleeper() {
	ready.Done()
	time.Sleep(time.Hour)
}

//go:noinline
func worker(kind string) {
	switch kind {
	case "panic-string":
		panic("payment 7 declined")
	case "panic-errors":
		panic(errors.New("card expired"))
	case "panic-custom":
		panic(&OrderError{Order: 7})
	case "panic-bounds":
		i := len(os.Args) + 4
		sink[i] = 1
	}
}

func main() {
	extra := 0
	kind := ""
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil {
			extra = n
		} else {
			kind = os.Args[1]
		}
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	mu.Lock()
	ready.Add(3 + extra)
	go waitOnChannel()
	go waitOnMutex()
	go sleeper()
	for i := 0; i < extra; i++ {
		go sleeper()
	}
	ready.Wait()
	time.Sleep(50 * time.Millisecond) // the last ones reach their park after Done
	fmt.Println("ready")
	<-usr1
	done := make(chan bool)
	go func() { worker(kind); done <- true }()
	<-done
}
