// SPDX-License-Identifier: MIT

// Concurrent map writes: a fatal error of the runtime, not a panic.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	fmt.Printf("pid=%d\ntid=%d\nready=1\n", os.Getpid(), syscall.Gettid())
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
