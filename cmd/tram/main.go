// Command tram fine-tunes pretrained neural networks with trust-region aware
// minimization (TRAM) and its baselines, and measures how well they transfer
// off the data they were tuned on.
//
// Usage:
//
//	tram <command> [flags]
//
// Run "tram help" for the list of commands and "tram <command> --help" for
// the flags of one command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// A command is one tram subcommand. Each lives in its own file and registers
// itself from init.
type command struct {
	name    string
	summary string // one line for "tram help"
	// run parses args (without the command name) and does the work. Output
	// meant for programs goes to stdout; progress and diagnostics to stderr.
	run func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("tram: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error already explained by the flag package's usage text.
var errUsage = errors.New("usage")

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				_ = c.run([]string{"--help"}, stdout, stderr)
				return 0
			}
		}
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tram: unknown command %q; valid commands: %s\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "tram %s: %v\n", c.name, err)
		}
		return 1
	}
	return 0
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tram: trust-region aware fine-tuning.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: tram <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "tram <command> --help" for the flags of one command.`)
}

// newFlagSet returns a flag set for a subcommand whose usage text names the
// command and describes it.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tram "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tram %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFamilyFlags parses the arguments of a command that names a family
// first (tram pretrain vision …) and returns the family.
func parseFamilyFlags(fs *flag.FlagSet, args []string, synopsis string) (string, error) {
	if len(args) == 0 {
		fs.Usage()
		return "", errUsage
	}
	if strings.HasPrefix(args[0], "-") {
		if err := parseFlags(fs, args); err != nil {
			return "", err
		}
		return "", fmt.Errorf("name the family first: %s", synopsis)
	}
	return args[0], parseFlags(fs, args[1:])
}

// parseFlags parses args and turns the flag package's errors into errUsage
// (already printed) while keeping flag.ErrHelp distinguishable.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}
