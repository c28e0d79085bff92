package main

import (
	"github.com/syncd-dev/syncd/internal/config"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// mappings converts the config's objects into the domain's mappings. Field
// types and writability are filled in later from describe; a problem with
// a column names where the config maps it.
func mappings(cfg *config.Config) []*syncd.Mapping {
	out := make([]*syncd.Mapping, 0, len(cfg.Objects))
	for i, o := range cfg.Objects {
		m := o.Mapping()
		m.Origin = cfg.Origins(i)
		out = append(out, m)
	}
	return out
}
