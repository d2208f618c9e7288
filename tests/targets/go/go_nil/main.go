// SPDX-License-Identifier: MIT

// A nil pointer dereference: SIGSEGV to the runtime's handler, then a panic.
package main

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
)

type order struct{ id int }

//go:noinline
func readOrder(o *order) int {
	fmt.Printf("crash_tid=%d\n", syscall.Gettid())
	return o.id
}

func main() {
	fmt.Printf("pid=%d\ntid=%d\nready=1\n", os.Getpid(), syscall.Gettid())
	waitGo()
	// GO_NIL_KILL: killed while panicking (its defers run before fatalpanic), a
	// fault that never reaches a panic hold.
	if os.Getenv("GO_NIL_KILL") != "" {
		defer syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	fmt.Println(readOrder(nil))
}

// waitGo blocks until a line (or EOF) on stdin: a test lets it crash once
// the watcher has probed it; run with stdin at EOF, it crashes at once.
func waitGo() {
	bufio.NewReader(os.Stdin).ReadString('\n')
}
