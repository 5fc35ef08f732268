package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/configs"
	"complaintbot/store"
)

func loadConfigFlag(name string, args []string, extra func(*flagSet)) (*configs.Config, error) {
	fs := newFlags(name)
	path := fs.String("config", "", "config file (YAML)")
	if extra != nil {
		extra(&flagSet{fs})
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *path == "" {
		return nil, errors.New("-config FILE is required")
	}
	return configs.Load(*path)
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	var cpuProfile *string
	cfg, err := loadConfigFlag("run", args, func(f *flagSet) {
		cpuProfile = f.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the daemon stops")
	})
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if limit, ok := memoryLimit(cfg.Runtime.MemoryLimitMB, os.Getenv("GOMEMLIMIT")); ok {
		debug.SetMemoryLimit(limit)
	}
	d, err := newDaemon(cfg, daemonDeps{Logger: log})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// memoryLimit is the soft memory limit to set for the configured MiB; not
// ok when there is none to set (no limit configured, or GOMEMLIMIT set in
// the environment, which the runtime has applied already).
func memoryLimit(mb int, env string) (int64, bool) {
	if env != "" || mb <= 0 {
		return 0, false
	}
	return int64(mb) << 20, true
}

// startCPUProfile profiles the process into path until the returned
// function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func cmdCheckConfig(args []string, stdout io.Writer) error {
	cfg, err := loadConfigFlag("check-config", args, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config OK: %d inbox(es), store %s, smtp %s, http %s, time zone %s\n",
		len(cfg.Inboxes), cfg.Store.Path, cfg.SMTP.Addr(), cfg.HTTP.Listen, cfg.Location)
	return nil
}

func cmdExport(ctx context.Context, args []string, stdout io.Writer) error {
	var format, out *string
	cfg, err := loadConfigFlag("export", args, func(f *flagSet) {
		format = f.String("format", "jsonl", "jsonl or csv")
		out = f.String("o", "", "output file (default standard output)")
	})
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	// The daemon holds the bbolt lock while it runs: then go through its API.
	st, err := store.OpenBolt(cfg.Store.Path, store.BoltOptions{Timeout: 300 * time.Millisecond, ReadOnly: true})
	if err == nil {
		defer st.Close()
		return api.Export(ctx, st, w, *format)
	}
	if !cfg.HTTP.Token.Set() {
		return fmt.Errorf("store is busy (%v) and http.token is not configured to export through the running daemon", err)
	}
	return api.ExportVia(ctx, "http://"+cfg.HTTP.Listen, cfg.HTTP.Token.Value(), w, *format)
}
