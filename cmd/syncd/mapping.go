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
		m := &syncd.Mapping{
			Object:           o.SObject,
			Table:            o.Table,
			Key:              o.Key,
			ExternalIDField:  o.ExternalID.Field,
			ExternalIDColumn: o.ExternalID.Column,
			Watermark:        o.Watermark,
			Conflict:         o.Conflict,
			Lookback:         o.Lookback,
			SafetyLag:        o.SafetyLag,
			BatchSize:        o.BatchSize,
			BulkThreshold:    o.BulkThreshold,
			WriteMode:        o.WriteMode,
			FromSalesforce:   o.Deletes.FromSalesforce,
			SoftDeleteColumn: o.Deletes.SoftDeleteColumn,
			FromLocal:        o.Deletes.FromLocal,
		}
		for _, f := range o.Fields {
			dir := f.Direction
			if dir == "" {
				dir = syncd.Both
			}
			// Writable until describe says otherwise; a formula field is
			// then made pull-only.
			m.Fields = append(m.Fields, syncd.Field{Column: f.Column, Name: f.Field, Direction: dir, Writable: true, Lookup: f.Lookup})
		}
		out = append(out, m)
	}
	return out
}
