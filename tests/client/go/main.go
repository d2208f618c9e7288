// SPDX-License-Identifier: MIT

// A Go program using the crashwatch package (clients/go) as a bt user would.
// MODE:
//
//	trace     Trace(err) with a custom error type, attributes and classifiers
//	          from a goroutine of its own; prints path=, goid=
//	caller-only  the same with CallerOnly: its thread and goroutine alone
//	recover   defer crashwatch.Recover(true, nil); a panic: traced, then it
//	          panics again and dies with exit status 2
//	register  Register(SIGUSR1), then SIGUSR1 to itself: traced, then the
//	          signal resent to Go's default handling (ResendSignal), which for
//	          SIGUSR1 is to take no action: it prints "still alive" and exits 0
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	crashwatch "crashwatch/clients/go"
)

type stallError struct{ queue string }

func (e *stallError) Error() string { return "queue " + e.queue + " stalled" }

func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	id, _ := strconv.ParseUint(string(bytes.Fields(bytes.TrimPrefix(buf[:n], []byte("goroutine ")))[0]), 10, 64)
	return id
}

//go:noinline
func askFromHere(done chan<- string, callerOnly bool) {
	opts := crashwatch.DefaultTraceOptions()
	opts.CallerOnly = callerOnly
	opts.KV = map[string]string{"build": "42"}
	opts.Classifications = []string{"from-go"}
	fmt.Printf("goid=%d\n", goid())
	path, err := crashwatch.Trace(&stallError{queue: "orders"}, opts)
	if err != nil {
		fmt.Printf("error=%v\n", err)
	}
	done <- path
}

func main() {
	fmt.Printf("pid=%d\n", os.Getpid())
	// Some goroutines parked beside the one that asks.
	for i := 0; i < 4; i++ {
		go func() { select {} }()
	}
	switch os.Args[1] {
	case "trace", "caller-only":
		done := make(chan string)
		go askFromHere(done, os.Args[1] == "caller-only")
		fmt.Printf("path=%s\n", <-done)
	case "recover":
		defer crashwatch.Recover(true, nil)
		var m map[string]int
		m["boom"]++ // assignment to entry in nil map
	case "register":
		crashwatch.Register(syscall.SIGUSR1)
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		time.Sleep(3 * time.Second)
		fmt.Println("still alive")
	}
}
