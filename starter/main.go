// Command starter is the engine's command line: it creates, shows and lists
// cases through the HTTP API, mints API tokens, applies the 100ms template,
// and runs the end-to-end demo against a local stack. It reads the same
// environment variables as the services (internal/platform/config).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: starter COMMAND [flags]

The vKYC engine's command line. It reads the services' environment variables
(API_JWT_SECRET, PUBLIC_BASE_URL, HMS_*, S3_BUCKET, ...; see internal/platform/config).

Commands:
  case create --ref REF [--name N] [--email E] [--phone P]
              [--captures face,id_front,id_back] [--audit-rejections=true|false]
              [--idempotency-key K]           create a case; prints it as JSON
  case show ID                                print a case as JSON
  case list [--status S] [--ref R] [--agent A] [--limit N] [--cursor C] [--json]
                                              list cases, newest first
  token --role ROLE --sub SUBJECT [--ttl 12h] mint an API bearer token
                                              (roles: service, agent, auditor, admin)
  sso-token --user USER [--page agent|audit] [--password P] [--api URL]
                                              sign in at make dev's identity provider as
                                              the pages do; prints its access token
  template apply [--name vkyc] [--bucket B] [--prefix P]
              [--access-key K --secret-key-file F]
                                              create or update the 100ms video-KYC
                                              template; prints its id (HMS_TEMPLATE_ID)
  demo [--api URL] [--sim URL] [--ui URL]     drive one case from creation to approval
                                              against the local stack (make dev)
  case history ID [--json]                    the case workflow's Temporal history with
                                              its payloads decoded (PAYLOAD_CODEC_KEYS)
  evidence verify PACK.zip [--public-key K]   check an evidence pack offline: its
                                              signature and every file's SHA-256
  evidence keygen                             a new EVIDENCE_SIGNING_KEY
  evidence public-key                         the public key of EVIDENCE_SIGNING_KEY
  webhook-secret                              a new BANK_WEBHOOK_SECRETS secret

The case commands take --api URL (default PUBLIC_BASE_URL) and --token TOKEN
(default: a service token minted from API_JWT_SECRET).
Run "starter COMMAND -h" for a command's flags.
`

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is one invocation: where results go (stdout) and where messages go
// (stderr).
type cli struct {
	out, errOut io.Writer
}

// usageError is a mistake in the command line, reported with exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{out: stdout, errOut: stderr}
	err := c.dispatch(ctx, args)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "starter: %s\n\nRun \"starter -h\" for usage.\n", ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "starter: %v\n", err)
		return exitFail
	}
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.errOut, usage)
		return usagef("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.out, usage)
		return nil
	case "case":
		return c.caseCommand(ctx, rest)
	case "token":
		return c.token(rest)
	case "sso-token":
		return c.ssoToken(ctx, rest)
	case "template":
		if len(rest) == 0 || rest[0] != "apply" {
			return usagef("template needs the subcommand apply")
		}
		return c.templateApply(ctx, rest[1:])
	case "demo":
		return c.demo(ctx, rest)
	case "evidence":
		return c.evidence(rest)
	case "webhook-secret":
		return c.webhookSecret(rest)
	default:
		return usagef("unknown command %q", cmd)
	}
}

func (c *cli) caseCommand(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("case needs a subcommand: create, show, list or history")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "create":
		return c.caseCreate(ctx, rest)
	case "show":
		return c.caseShow(ctx, rest)
	case "list":
		return c.caseList(ctx, rest)
	case "history":
		return c.caseHistory(ctx, rest)
	default:
		return usagef("unknown case subcommand %q (want create, show, list or history)", sub)
	}
}

// newFlags makes a flag set whose errors come back to run, which reports
// them once, as usage errors.
func (c *cli) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.errOut)
	fs.Usage = func() {
		fmt.Fprintf(c.errOut, "Usage: starter %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before or after the positional
// arguments ("case show ID --api URL"); everything after "--" is positional.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseNone is parse for a command that takes flags only.
func parseNone(fs *flag.FlagSet, args []string) error {
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	return noPositional(fs, positional)
}

// noPositional refuses stray words, which are usually a mistyped flag.
func noPositional(fs *flag.FlagSet, positional []string) error {
	if len(positional) > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), positional[0])
	}
	return nil
}
