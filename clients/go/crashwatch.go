// SPDX-License-Identifier: MIT

// Package crashwatch asks the running crashwatch watcher for a snapshot of this
// Go program: every thread and goroutine, with the calling goroutine marked, as
// backtrace-go's bt.Trace did with an in-process tracer — in its shape, so that a
// bt user switches by changing an import:
//
//	if err := work(); err != nil {
//		path, terr := crashwatch.Trace(err, nil)
//		...
//	}
//	defer crashwatch.Recover(true, nil)
//	crashwatch.Register(syscall.SIGUSR1)
//
// The watcher (crashwatch watch, holding) stops the process for well under a
// millisecond, lets it go on, then unwinds every thread and goroutine and writes
// the snapshot to its spool, from where it is uploaded marked as asked for
// (trigger "request", non-fatal).  The request goes over the watcher's socket,
// /run/crashwatch/request.sock, in the protocol of include/crashwatch/request.h.
// Standard library only.
package crashwatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// SocketPath is where the watcher listens for requests.
var SocketPath = "/run/crashwatch/request.sock"

// TraceOptions say what goes into one snapshot (bt.TraceOptions' fields).
type TraceOptions struct {
	// The calling goroutine (and its thread) is marked faulted.
	Faulted bool
	// Only the calling goroutine and its thread are traced.
	CallerOnly bool
	// The error's dynamic type ("*fs.PathError") is added as a classifier.
	ErrClassification bool
	// Added as classifiers.
	Classifications []string
	// Added as attributes (keys: no ':').
	KV map[string]string
	// The whole request, waiting for the watcher included; 0: DefaultTraceOptions'
	// (10 s); below 0: an hour, the watcher's bound.
	Timeout time.Duration
}

// DefaultTraceOptions are used when Trace is given nil: the caller faulted, the
// whole process, the error's type as a classifier.
func DefaultTraceOptions() *TraceOptions {
	return &TraceOptions{Faulted: true, ErrClassification: true, Timeout: 10 * time.Second}
}

// GlobalConfig is bt.GlobalConfig's.
type GlobalConfig struct {
	// Register: once a signal's snapshot is taken, stop listening for it
	// (signal.Reset) and send it again, to Go's default handling.
	ResendSignal bool
	// After a trace, the next one waits this long (one trace at a time).
	RateLimit time.Duration
	// Trace waits for the snapshot to be written and returns its path; false:
	// it returns once the watcher queued it, with path "".
	SynchronousPut bool
}

var (
	configLock sync.RWMutex
	config     = GlobalConfig{ResendSignal: true, RateLimit: 3 * time.Second, SynchronousPut: true}
	traceLock  = make(chan struct{}, 1)
)

func init() {
	traceLock <- struct{}{}
}

// UpdateConfig replaces the global configuration.
func UpdateConfig(c GlobalConfig) {
	configLock.Lock()
	config = c
	configLock.Unlock()
}

func currentConfig() GlobalConfig {
	configLock.RLock()
	defer configLock.RUnlock()
	return config
}

// Status is what the watcher answered (enum cw_status of request.h).
type Status int

// The watcher's answers.
const (
	StatusWritten Status = iota
	StatusQueued
	StatusRefused
	StatusRateLimited
	StatusBusy
	StatusBadRequest
	StatusNoProcess
	StatusFailed
	StatusTimedOut
	StatusUnavailable
	StatusNoWatcher
	StatusProtocol
)

var statusNames = [...]string{"written", "queued", "refused", "rate-limited", "busy",
	"bad request", "no such process", "failed", "timed out", "unavailable", "no watcher",
	"protocol error"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status " + strconv.Itoa(int(s))
}

// Error is a request that did not end in a snapshot written (or queued).
type Error struct {
	Status Status
	Detail int32 // StatusRateLimited: ms to wait; StatusFailed: the tool's exit status
	Reason string
}

func (e *Error) Error() string {
	return "crashwatch: " + e.Status.String() + ": " + e.Reason
}

// ErrTraceLock is returned when another trace held the lock past the timeout.
var ErrTraceLock = errors.New("crashwatch: another trace did not finish within the timeout")

const (
	reqMagic    = 0x51525743
	replyMagic  = 0x50525743
	reqVersion  = 1
	reqWait     = 1
	fieldKV     = 1
	fieldClass  = 2
	fieldThread = 3
	fieldError  = 4
	fieldType   = 5
	fieldGo     = 6
	maxTimeout  = time.Hour
	answerSlack = 5 * time.Second
)

// The calling goroutine's id, from its own stack's first line ("goroutine 17 [running]:").
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	fields := bytes.Fields(bytes.TrimPrefix(buf[:n], []byte("goroutine ")))
	if len(fields) == 0 {
		return 0
	}
	id, _ := strconv.ParseUint(string(fields[0]), 10, 64)
	return id
}

type request struct {
	buf bytes.Buffer
}

func (r *request) field(kind uint16, value []byte) {
	binary.Write(&r.buf, binary.LittleEndian, [2]uint16{kind, uint16(len(value))})
	r.buf.Write(value)
}

func (r *request) str(kind uint16, s ...string) {
	var v []byte
	for _, p := range s {
		v = append(append(v, p...), 0)
	}
	r.field(kind, v)
}

// encode the request; strings the watcher would refuse are refused by it, in its words.
func encode(err error, o *TraceOptions, wait bool, timeout time.Duration) []byte {
	var r request
	var flags uint16
	var faultTid int32
	if wait {
		flags = reqWait
	}
	if o.Faulted {
		faultTid = int32(syscall.Gettid())
	}
	binary.Write(&r.buf, binary.LittleEndian, struct {
		Magic            uint32
		Version, Flags   uint16
		Pid, FaultTid    int32
		TimeoutMs, Spare uint32
	}{reqMagic, reqVersion, flags, 0, faultTid, uint32(timeout / time.Millisecond), 0})
	for k, v := range o.KV {
		r.str(fieldKV, k, v)
	}
	for _, c := range o.Classifications {
		r.str(fieldClass, c)
	}
	if err != nil && o.ErrClassification {
		r.str(fieldClass, reflect.TypeOf(err).String())
	}
	if o.CallerOnly {
		var tid [4]byte
		binary.LittleEndian.PutUint32(tid[:], uint32(syscall.Gettid()))
		r.field(fieldThread, tid[:])
	}
	if o.Faulted {
		if id := goid(); id != 0 {
			var g [8]byte
			binary.LittleEndian.PutUint64(g[:], id)
			r.field(fieldGo, g[:])
		}
	}
	if err != nil {
		if msg := err.Error(); msg != "" {
			r.str(fieldError, msg)
		}
		r.str(fieldType, reflect.TypeOf(err).String())
	}
	return r.buf.Bytes()
}

func parseReply(b []byte) (Status, int32, string, error) {
	if len(b) < 17 || binary.LittleEndian.Uint32(b) != replyMagic ||
		binary.LittleEndian.Uint16(b[4:]) != reqVersion ||
		int(binary.LittleEndian.Uint32(b[12:])) != len(b)-16 || b[len(b)-1] != 0 {
		return StatusProtocol, 0, "", errors.New("crashwatch: a garbled answer from the watcher")
	}
	return Status(binary.LittleEndian.Uint16(b[6:])), int32(binary.LittleEndian.Uint32(b[8:])),
		string(b[16 : len(b)-1]), nil
}

// Trace asks the watcher for a snapshot of this process, err (may be nil)
// recorded as the error: its message as attribute "error", its type as
// "error.type" (and a classifier with ErrClassification).  It returns the
// snapshot's path, or "" when GlobalConfig.SynchronousPut is false.  One trace
// runs at a time; the next waits GlobalConfig.RateLimit after it.
func Trace(err error, opts *TraceOptions) (string, error) {
	if opts == nil {
		opts = DefaultTraceOptions()
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTraceOptions().Timeout
	} else if timeout < 0 || timeout > maxTimeout {
		timeout = maxTimeout
	}
	cfg := currentConfig()
	select {
	case <-traceLock:
	case <-time.After(timeout):
		return "", ErrTraceLock
	}
	defer func() {
		go func() {
			time.Sleep(currentConfig().RateLimit)
			traceLock <- struct{}{}
		}()
	}()
	// The calling goroutine stays on this thread: the thread marked faulted is its.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	msg := encode(err, opts, cfg.SynchronousPut, timeout)
	conn, derr := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: SocketPath, Net: "unixpacket"})
	if derr != nil {
		return "", &Error{Status: StatusNoWatcher, Reason: fmt.Sprintf(
			"no watcher takes requests on %s: %v", SocketPath, derr)}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout + answerSlack))
	if _, werr := conn.Write(msg); werr != nil {
		return "", &Error{Status: StatusProtocol, Reason: werr.Error()}
	}
	buf := make([]byte, 8192)
	n, rerr := conn.Read(buf)
	if rerr != nil {
		if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
			return "", &Error{Status: StatusTimedOut, Reason: "no answer within the timeout"}
		}
		return "", &Error{Status: StatusProtocol, Reason: rerr.Error()}
	}
	st, detail, text, perr := parseReply(buf[:n])
	if perr != nil {
		return "", perr
	}
	switch st {
	case StatusWritten:
		return text, nil
	case StatusQueued:
		return "", nil
	}
	return "", &Error{Status: st, Detail: detail, Reason: text}
}

// Recover, deferred, traces a panic: the panic value as the error (an error
// as it is, anything else formatted with %v); then panics again with the
// same value when repanic is true (the program dies as it would have).
func Recover(repanic bool, opts *TraceOptions) {
	r := recover()
	if r == nil {
		return
	}
	err, ok := r.(error)
	if !ok {
		err = &PanicError{Value: r}
	}
	o := DefaultTraceOptions()
	if opts != nil {
		c := *opts
		o = &c
	}
	o.Classifications = append(append([]string(nil), o.Classifications...), "panic")
	Trace(err, o)
	if repanic {
		panic(r)
	}
}

// PanicError is a panic value that was not an error.
type PanicError struct {
	Value interface{}
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("%v", p.Value)
}

// Register traces the process when one of sigs arrives, the signal's name as a
// classifier.  With GlobalConfig.ResendSignal the signal is then handed back to
// Go's default handling (signal.Reset) and sent again: SIGTERM then ends the
// program, SIGUSR1 is caught and ignored (os/signal's defaults).
func Register(sigs ...os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		for s := range ch {
			o := DefaultTraceOptions()
			o.Faulted = false
			o.Classifications = []string{"signal", s.String()}
			o.KV = map[string]string{"signal": s.String()}
			Trace(nil, o)
			if !currentConfig().ResendSignal {
				continue
			}
			signal.Reset(s)
			if sig, ok := s.(syscall.Signal); ok {
				syscall.Kill(os.Getpid(), sig)
			}
			return
		}
	}()
}
