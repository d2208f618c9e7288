// SPDX-License-Identifier: MIT

// Goroutines for the timeline's goroutine tracks: one spinning in a known
// function, one blocked in a read(2) of a pipe (a raw fd: blocking, so its
// goroutine stays on its thread, in the syscall), and the main goroutine
// working in short bursts.  Prints pid=, each goroutine's goid=, ready=1;
// runs until killed.
package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var sink uint64

// The running goroutine's id, from its stack trace's header ("goroutine N [").
func goid() int {
	buf := make([]byte, 64)
	f := strings.Fields(string(buf[:runtime.Stack(buf, false)]))
	n, _ := strconv.Atoi(f[1])
	return n
}

//go:noinline
func spinInKnownFunction(ids chan<- int) {
	ids <- goid()
	for {
		for i := 0; i < 1000000; i++ {
			sink += uint64(i)
		}
	}
}

//go:noinline
func readThePipe(fd int, ids chan<- int) {
	ids <- goid()
	buf := make([]byte, 1)
	syscall.Read(fd, buf)
}

//go:noinline
func mainBursts() {
	for {
		start := time.Now()
		for time.Since(start) < time.Millisecond {
			sink++
		}
		time.Sleep(time.Millisecond)
	}
}

func main() {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		panic(err)
	}
	ids := make(chan int)
	go spinInKnownFunction(ids)
	spinner := <-ids
	go readThePipe(p[0], ids)
	reader := <-ids
	// The reader is in read(2) once its thread sleeps: give it the time to get there.
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("pid=%d\nmain_goid=%d\nspinner_goid=%d\nreader_goid=%d\nready=1\n",
		syscall.Getpid(), goid(), spinner, reader)
	mainBursts()
}
