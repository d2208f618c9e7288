// SPDX-License-Identifier: MIT

// Many goroutines parked (10,000 unless GO_MANY says), then a panic.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

//go:noinline
func parked(ch chan int, started *sync.WaitGroup) {
	started.Done()
	<-ch
}

func main() {
	n := 10000
	if s := os.Getenv("GO_MANY"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			fmt.Fprintln(os.Stderr, "go_many: GO_MANY must be a count")
			os.Exit(64)
		}
		n = v
	}
	fmt.Printf("pid=%d\ntid=%d\n", os.Getpid(), syscall.Gettid())
	var started sync.WaitGroup
	ch := make(chan int)
	started.Add(n)
	for i := 0; i < n; i++ {
		go parked(ch, &started)
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond)
	fmt.Printf("ready=%d\n", n)
	waitGo()
	panic(fmt.Sprintf("%d goroutines parked", n))
}

// waitGo blocks until a line (or EOF) on stdin: a test lets it crash once
// the watcher has probed it; run with stdin at EOF, it crashes at once.
func waitGo() {
	bufio.NewReader(os.Stdin).ReadString('\n')
}
