// SPDX-License-Identifier: MIT

// A nil pointer dereference: SIGSEGV to the runtime's handler, then a panic.
package main

import (
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
	fmt.Println(readOrder(nil))
}
