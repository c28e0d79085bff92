package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A database syncs with one Salesforce org: the first cycle that succeeds
// records it (_syncd_org), and a session of another org is refused until
// the operator logs in to the right one or rebinds the database with
// `syncd resync --all --new-org`.

// run runs one cycle over maps, after making sure the session belongs to
// the database's org; the first cycle that succeeds records the org. With
// reconcile, it reconciles every object now.
func (s *session) run(ctx context.Context, maps []*syncd.Mapping, reconcile bool) (syncd.Report, error) {
	if ctx.Err() != nil {
		return syncd.Report{}, ctx.Err()
	}
	org, err := s.checkOrg(ctx)
	if err != nil {
		return syncd.Report{}, err
	}
	var rep syncd.Report
	if reconcile {
		rep = s.engine.Reconcile(ctx, maps)
	} else {
		rep = s.engine.Run(ctx, maps)
	}
	if rep.OK() && !s.db.ReadOnly() {
		if _, err := s.db.BindOrg(ctx, s.binding(org)); err != nil && s.logger != nil {
			s.logger.Warn("org.not_recorded", "org_id", org, "err", err)
		}
	}
	return rep, nil
}

// binding is the database's binding to org through the session's config.
func (s *session) binding(org string) store.OrgBinding {
	return store.OrgBinding{OrgID: org, LoginURL: strings.TrimRight(s.cfg.Salesforce.LoginURL, "/"), ClientID: s.cfg.Salesforce.ClientID}
}

// checkOrg returns the session's org, refusing one that is not the
// database's. It reads the org from the stored token: no API call.
func (s *session) checkOrg(ctx context.Context) (string, error) {
	org, err := s.client.OrgID(ctx)
	if err != nil {
		return "", fmt.Errorf("identify the Salesforce org: %w", err)
	}
	bound, ok, err := s.db.Org(ctx)
	if err != nil {
		return "", err
	}
	if ok && !store.SameOrg(bound.OrgID, org) {
		return "", orgMismatch(s.cfg, bound, org)
	}
	return org, nil
}

// orgMismatch says that the session belongs to another org than the
// database, and the two ways out.
func orgMismatch(cfg *config.Config, bound store.OrgBinding, org string) error {
	return fmt.Errorf("database %s syncs with Salesforce org %s (since %s, login_url %s, client_id %s), but the stored session is for org %s; "+
		"the database's links and watermarks name org %s's records, and syncing them with another org would mix the two. Either:\n"+
		"  - log in to org %s: set its login_url and client_id in the config and run `%s`, or\n"+
		"  - move this database to org %s: `%s` forgets every link, watermark, conflict and rejected row, "+
		"and its cycle matches rows to org %s's records by external id",
		cfg.Database, bound.OrgID, bound.BoundAt.UTC().Format("2006-01-02"), bound.LoginURL, bound.ClientID, org,
		bound.OrgID, bound.OrgID, hint(cfg.File(), "auth login"), org, hint(cfg.File(), "resync --all --new-org"), org)
}

// rebindOrg binds the session's database to the session's org, forgetting
// what named the old org's records (store.RebindOrg), for `syncd resync
// --all --new-org`, and says what it did.
func (m *Main) rebindOrg(ctx context.Context, s *session) error {
	org, err := s.client.OrgID(ctx)
	if err != nil {
		return fmt.Errorf("identify the Salesforce org: %w", err)
	}
	bound, ok, err := s.db.Org(ctx)
	if err != nil {
		return err
	}
	if ok && store.SameOrg(bound.OrgID, org) {
		fmt.Fprintf(m.Stderr, "database %s already syncs with org %s; re-pulling every object\n", s.cfg.Database, org)
		return nil
	}
	f, err := s.db.RebindOrg(ctx, s.binding(org))
	if err != nil {
		return err
	}
	was := "no org recorded"
	if ok {
		was = "org " + bound.OrgID
	}
	fmt.Fprintf(m.Stderr, "database %s now syncs with org %s (was %s): forgot %d links, %d watermarks, %d conflicts and %d rejected rows; "+
		"every record of org %s is pulled again and matched to rows by external id\n",
		s.cfg.Database, org, was, f.Links, f.Watermarks, f.Conflicts, f.DeadLetters, org)
	if s.logger != nil {
		s.logger.Warn("org.rebound", "org_id", org, "was", bound.OrgID, "links", f.Links, "watermarks", f.Watermarks,
			"conflicts", f.Conflicts, "rejected_rows", f.DeadLetters)
	}
	return nil
}
