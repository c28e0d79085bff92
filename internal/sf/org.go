package sf

import (
	"context"
	"fmt"
)

// OrgID returns the id of the org the session belongs to, obtaining the
// session first if the flow allows. It is read from the token (its
// identity URL, which every token response carries: "OAuth 2.0 Web
// Server Flow for Web App Integration", Salesforce Help, parameter id),
// so it costs no call; only a token stored without one asks userinfo.
func (c *Client) OrgID(ctx context.Context) (string, error) {
	tok, err := c.sess.current(ctx)
	if err != nil {
		return "", err
	}
	if id := tok.OrgID(); id != "" {
		return id, nil
	}
	ui, err := c.UserInfo(ctx)
	if err != nil {
		return "", fmt.Errorf("identify the org: %w", err)
	}
	if ui.OrgID == "" {
		return "", fmt.Errorf("identify the org: userinfo names no organization_id")
	}
	return ui.OrgID, nil
}
