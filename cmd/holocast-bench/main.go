// Command holocast-bench runs offline benchmarks of Holocast components.
//
//	holocast-bench <command> [arguments]
//
// Commands:
//
//	run       measure a node with simulated headsets replaying head motion
//	render    render-only throughput of models (ms/frame, triangles, load)
//	encode    compare the project's H.264 encoder with ffmpeg's libx264
//	predict   replay head-motion traces through the pose predictors
//	table     print run reports as one markdown table of the network targets
//	help      print help for a command
//
// docs/bench.md describes run, render and encode, their figures and JSON schema.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand.
type command struct {
	summary string
	// run executes the command with its arguments (after the name).
	run func(args []string, stdout, stderr io.Writer) int
	// usage prints the command's help.
	usage func(w io.Writer)
}

// commands holds the subcommands by name; each file registers its own.
var commands = map[string]*command{}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				c.usage(stdout)
				return 0
			}
			fmt.Fprintf(stderr, "holocast-bench: unknown command %q\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "holocast-bench: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: holocast-bench <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "print help for a command: holocast-bench help <command>")
}

// parseInterleaved parses fs over args, allowing flags after positional
// arguments too, and returns the positional ones. On --help it prints
// usage to stdout and returns exit code 0; on a bad flag it prints the
// error and usage to stderr and returns 2; otherwise code is -1.
func parseInterleaved(fs *flag.FlagSet, args []string, name string, usage func(io.Writer), stdout, stderr io.Writer) (positional []string, code int) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage(stdout)
				return nil, 0
			}
			fmt.Fprintf(stderr, "holocast-bench %s: %v\n", name, err)
			usage(stderr)
			return nil, 2
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, -1
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
