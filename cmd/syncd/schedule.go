package main

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/syncd-dev/syncd/internal/config"
)

// cronParser is the one parser used both to check a schedule and to run
// it, so that `syncd check` and `syncd run` can never disagree: 5-field
// specs and descriptors such as @every 5m and @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule parses the config's schedule in its time zone.
func parseSchedule(cfg *config.Config) (cron.Schedule, error) {
	loc, err := cfg.Location()
	if err != nil {
		return nil, err
	}
	spec := cfg.Schedule
	if loc != time.UTC {
		spec = "CRON_TZ=" + loc.String() + " " + spec
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, &config.Error{File: cfg.File(), Line: cfg.Line("schedule"), Key: "schedule",
			Msg: fmt.Sprintf("%q is not a valid schedule: %v (use 5 fields \"m h dom mon dow\", or @every 5m, @hourly, @daily)", cfg.Schedule, err)}
	}
	return s, nil
}
