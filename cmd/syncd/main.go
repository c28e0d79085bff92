// Command syncd keeps an application's SQLite data and a Salesforce org in
// step, both ways, on a schedule.
package main

import (
	"context"
	"os"
)

func main() {
	m := NewMain()
	os.Exit(m.Run(context.Background(), os.Args[1:]))
}
