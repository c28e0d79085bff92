// Command harness runs syncd's performance benchmarks side by side with a
// jsforce + better-sqlite3 script, against the emulator in its own
// process, and prints a markdown table. bench/run builds it and calls
// `harness table`; `harness emu` is the emulator process it starts for the
// pull scenarios. See bench/README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "emu":
		err = emuMain(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "floor":
		err = floorMain(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "sqlrun":
		err = sqlRunMain()
	case len(os.Args) > 1 && os.Args[1] == "spawn":
		err = spawnMain(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "table":
		err = tableMain(os.Args[2:])
	default:
		err = fmt.Errorf("usage: harness emu [flags] | harness floor [flags] | harness sqlrun | harness spawn FILE CMD [ARGS] | harness table [flags]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}
