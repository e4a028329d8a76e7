package stack

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// handedOut holds every address FreeAddr returned in this process: the
// kernel may give a just-closed port again, and two programs of one stack
// were then told to listen on the same port.
var handedOut sync.Map

// FreeAddr returns a free loopback host:port that this process has not
// handed out before, below the kernel's ephemeral range (LowPorts): a port
// the kernel offers for :0 is an ephemeral one, which any outgoing
// connection may take as its source port before the program that was told
// to listen on it binds it (a second API replica, started a minute after its
// port was chosen, once found it taken).
func FreeAddr() (string, error) {
	p, err := LowPorts(1)
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p[0])), nil
}

// LowPorts returns n distinct free loopback ports between 20000 and the
// kernel's ephemeral range (scripts/services.sh picks ports the same way),
// for servers that are stopped and started again on the same port: a port
// in the ephemeral range can be taken as the source port of an outgoing
// connection while the server is down, and the server could then not bind
// it again. The real Temporal server also stores its membership ports in a
// SMALLINT column: they must stay below 32768.
func LowPorts(n int) ([]int, error) {
	high := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if v, err := strconv.Atoi(f[0]); err == nil && v < high {
				high = v
			}
		}
	}
	if high-20000 < 1000 {
		return nil, fmt.Errorf("the ephemeral port range starts at %d: no room for low ports", high)
	}
	var out []int
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		p := 20000 + mrand.IntN(high-20000) // #nosec G404 -- a port number, not a secret
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		if _, dup := handedOut.Load(addr); dup {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		if _, dup := handedOut.LoadOrStore(addr, true); !dup {
			out = append(out, p)
		}
	}
	if len(out) < n {
		return nil, errors.New("not enough free ports below the ephemeral range")
	}
	return out, nil
}

// WaitFor polls check until it succeeds, the context ends or limit passes.
// A process that is given and has exited ends the wait at once.
func WaitFor(ctx context.Context, limit time.Duration, what string, p *Process, check func() error) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if p != nil && !p.Running() {
			return fmt.Errorf("%s: %s", what, p.exitedNote())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", what, limit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// HTTPOK is nil when url answers 200.
func HTTPOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close() // a probe: only the status matters
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}

// Polling is nil once the process polls the workflow task queue: its
// client identity is <pid>@<host>@..., the SDK's default.
func Polling(ctx context.Context, tc client.Client, p *Process, queue string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := tc.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("%d@", p.PID())
	for _, poller := range resp.GetPollers() {
		if strings.HasPrefix(poller.GetIdentity(), prefix) {
			return nil
		}
	}
	return fmt.Errorf("%s does not poll %s yet", p.Name, queue)
}
