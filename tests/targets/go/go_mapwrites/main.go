// SPDX-License-Identifier: MIT

// Concurrent map writes: a fatal error of the runtime, not a panic.
package main

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
)

func main() {
	fmt.Printf("pid=%d\ntid=%d\nready=1\n", os.Getpid(), syscall.Gettid())
	waitGo()
	m := map[int]int{}
	for i := 0; i < 4; i++ {
		go func() {
			for j := 0; ; j++ {
				m[j%1000] = j
			}
		}()
	}
	for j := 0; ; j++ {
		m[j%1000] = j
	}
}

// waitGo blocks until a line (or EOF) on stdin: a test lets it crash once
// the watcher has probed it; run with stdin at EOF, it crashes at once.
func waitGo() {
	bufio.NewReader(os.Stdin).ReadString('\n')
}
