// SPDX-License-Identifier: MIT

// A panic that is recovered: not a crash, exits 0.
package main

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
)

//go:noinline
func risky() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	panic("payment 7 declined")
}

func main() {
	fmt.Printf("pid=%d\ntid=%d\nready=1\n", os.Getpid(), syscall.Gettid())
	waitGo()
	fmt.Println(risky())
}

// waitGo blocks until a line (or EOF) on stdin: a test lets it crash once
// the watcher has probed it; run with stdin at EOF, it crashes at once.
func waitGo() {
	bufio.NewReader(os.Stdin).ReadString('\n')
}
