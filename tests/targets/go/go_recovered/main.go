// SPDX-License-Identifier: MIT

// A panic that is recovered: not a crash, exits 0.
package main

import (
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
	fmt.Println(risky())
}
