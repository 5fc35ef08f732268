package main

import "flag"

// flagSet lets a subcommand add its own flags next to -config.
type flagSet struct{ *flag.FlagSet }
