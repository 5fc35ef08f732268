// Command complaintbot makes sure no customer complaint is lost or forgotten:
// it records every customer email as a complaint, acknowledges it with a
// number and a promised reaction time, and keeps the whole history.
//
// Subcommands:
//
//	complaintbot run -config FILE            run the workers until SIGINT/SIGTERM
//	complaintbot demo                        run the whole pipeline against in-process servers
//	complaintbot check-config -config FILE   list every problem of a config file
//	complaintbot export -config FILE [-format jsonl|csv] [-o FILE]
//
// main only wires the packages together: configs -> store, router, notify,
// ingest, api.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: complaintbot <command> [flags]

commands:
  run -config FILE                  run the daemon until SIGINT/SIGTERM
  demo                              run the pipeline on built-in sample mail, no servers needed
  check-config -config FILE         validate a config file and list every problem
  export -config FILE [-format jsonl|csv] [-o FILE]
                                    write all complaints with messages and events
  classify -data FILE [-rules FILE] classify JSON Lines messages, one JSON result per line
  eval -data FILE [-rules FILE] [-json]  precision/recall/F1 of the classifier on labelled data
  complaint <list|show|take|note|advance|resolve|approve|reassign|drop|reopen|reply|funnel|proposals> -config FILE ...
                                    staff work through the running daemon's API ("complaint" alone for help)
`

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "check-config":
		err = cmdCheckConfig(args[1:], stdout)
	case "export":
		err = cmdExport(ctx, args[1:], stdout)
	case "classify":
		err = cmdClassify(args[1:], stdout)
	case "eval":
		err = cmdEval(args[1:], stdout)
	case "complaint":
		err = cmdComplaint(ctx, args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "complaintbot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "complaintbot %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return fs
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
