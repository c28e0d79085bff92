package main

import (
	"github.com/syncd-dev/syncd/internal/config"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// mappings converts the config's objects into the domain's mappings. Field
// types and writability are filled in later from describe.
func mappings(cfg *config.Config) []*syncd.Mapping {
	out := make([]*syncd.Mapping, 0, len(cfg.Objects))
	for _, o := range cfg.Objects {
		out = append(out, o.Mapping())
	}
	return out
}
