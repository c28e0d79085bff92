package main

import (
	"regexp"
	"strings"

	"github.com/syncd-dev/syncd/internal/config"
)

// hint is the command line "syncd ARGS" a message tells the operator to
// run next, for the config at path (the -c of the command that prints it).
//
// It repeats -c PATH only when path is not the config a bare syncd reads
// ($SYNCD_CONFIG, else /etc/syncd/syncd.yaml): a hint followed literally
// must read the same config, and one the environment already selects
// stays short and reads it too, in the same shell. The path is as given,
// so a relative one holds in the directory the command ran in.
func hint(path, args string) string {
	s := "syncd " + args
	if path != "" && path != config.DefaultPath() {
		s += " -c " + shellQuote(path)
	}
	return s
}

// shellQuote quotes s for a POSIX shell, unless it needs none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+:=@%,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandInText is a command a message tells the operator to run, as
// internal/store and internal/sf write them: "`syncd ARGS`".
var commandInText = regexp.MustCompile("`syncd ([^`]*)`")

// withConfig makes each command msg tells the operator to run a hint for
// the config at path, as the command layer's own are: the store and the
// Salesforce client name commands without knowing which config was read.
// A command that names a config already is left as it is.
func withConfig(msg, path string) string {
	if path == "" {
		return msg
	}
	return commandInText.ReplaceAllStringFunc(msg, func(span string) string {
		args := commandInText.FindStringSubmatch(span)[1]
		if strings.Contains(" "+args, " -c ") || strings.Contains(args, "--config") {
			return span
		}
		return "`" + hint(path, args) + "`"
	})
}
