package sf

import (
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	syncd "github.com/syncd-dev/syncd/internal/sync"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The token endpoint is reached through golang.org/x/oauth2 for the
// authorization-code exchange, the refresh-token grant and client
// credentials; the JWT bearer grant is posted here, because
// x/oauth2/jwt signs with its own JWS code and sends claims Salesforce does
// not expect.

// oauthConfig is the x/oauth2 view of cfg. Client id and secret travel in
// the form body (AuthStyleInParams), which Salesforce accepts for every
// grant ("OAuth 2.0 Web Server Flow" and "OAuth 2.0 Refresh Token Flow",
// help.salesforce.com); setting the style explicitly avoids the extra
// request x/oauth2 makes to detect it (oauth2.AuthStyleAutoDetect).
func oauthConfig(cfg Config) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.authURL(),
			TokenURL:  cfg.tokenURL(),
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// oauthCtx carries the HTTP client x/oauth2 must use.
func oauthCtx(ctx context.Context, hc *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// fromOAuth2 converts x/oauth2's token, whose Salesforce fields are extras.
func fromOAuth2(t *oauth2.Token, flow string) (*Token, error) {
	tok := &Token{
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		Flow:         flow,
	}
	tok.InstanceURL, _ = t.Extra("instance_url").(string)
	tok.ID, _ = t.Extra("id").(string)
	tok.Scope, _ = t.Extra("scope").(string)
	tok.IssuedAt = parseIssuedAt(t.Extra("issued_at"))
	return tok, checkToken(tok)
}

func checkToken(tok *Token) error {
	if tok.AccessToken == "" {
		return &APIError{Code: CodeTokenGrant, Message: "token response has no access_token", class: syncd.ErrTransient}
	}
	u, err := url.Parse(tok.InstanceURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &APIError{Code: CodeTokenGrant, Message: "token response has no usable instance_url", class: syncd.ErrTransient}
	}
	tok.InstanceURL = strings.TrimRight(tok.InstanceURL, "/")
	if tok.IssuedAt.IsZero() {
		tok.IssuedAt = time.Now().UTC()
	}
	return nil
}

// tokenError maps a token-endpoint failure to an APIError. OAuth errors
// ({"error","error_description"} with HTTP 400) mean a person must act, except server trouble and the concurrent
// refresh refusal. No part of a request or token is quoted.
func tokenError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		ct := ""
		if re.Response != nil {
			status = re.Response.StatusCode
			ct = re.Response.Header.Get("Content-Type")
		}
		return oauthError(status, ct, re.ErrorCode, re.ErrorDescription, re.Body)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	// x/oauth2 wraps transport errors as "oauth2: cannot fetch token: ..."
	return transportError(err)
}

// oauthError classifies an OAuth error response {"error","error_description"}.
func oauthError(status int, contentType, code, desc string, body []byte) *APIError {
	if code == "" {
		if status >= 500 || status == 429 || status == 0 || isHTML(contentType, body) {
			e := parseErrorBody(status, contentType, body)
			e.class, e.retry = syncd.ErrTransient, true
			return e
		}
		code = "invalid_response"
		desc = fmt.Sprintf("token endpoint answered %d", status)
	}
	e := &APIError{Status: status, Code: code, Message: desc, class: syncd.ErrSession, Hint: reauthHint}
	if status >= 500 {
		e.class, e.retry, e.Hint = syncd.ErrTransient, true, ""
	}
	return e
}

// isConcurrentRefresh recognises Salesforce's refusal of a second refresh
// with the same refresh token while the first is in progress (Summer '24):
// "Token request is already being processed" (forcedotcom/SalesforceMobileSDK-iOS#3731);
// segmentio/action-destinations#2300 observed it as invalid_grant
// "expired authorization code" on a refresh_token grant.
func isConcurrentRefresh(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	d := strings.ToLower(e.Message)
	return strings.Contains(d, "already being processed") ||
		(e.Code == "invalid_grant" && strings.Contains(d, "expired authorization code"))
}

// exchangeCode trades an authorization code (with its PKCE verifier).
func exchangeCode(ctx context.Context, cfg Config, hc *http.Client, code, verifier string) (*Token, error) {
	t, err := oauthConfig(cfg).Exchange(oauthCtx(ctx, hc), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError(err)
	}
	tok, err := fromOAuth2(t, AuthWebServer)
	if err != nil {
		return nil, err
	}
	tok.ObtainedAt = time.Now().UTC()
	return tok, nil
}

// grantRefresh runs the refresh_token grant.
func grantRefresh(ctx context.Context, cfg Config, hc *http.Client, refreshToken string) (*Token, error) {
	src := oauthConfig(cfg).TokenSource(oauthCtx(ctx, hc), &oauth2.Token{RefreshToken: refreshToken})
	t, err := src.Token()
	if err != nil {
		return nil, tokenError(err)
	}
	return fromOAuth2(t, AuthWebServer)
}

// grantClientCredentials runs the client credentials grant against
// login_url, which must be the org's My Domain ("OAuth 2.0 Client
// Credentials Flow for Server-to-Server Integration", help.salesforce.com).
func grantClientCredentials(ctx context.Context, cfg Config, hc *http.Client) (*Token, error) {
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.tokenURL(),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	t, err := cc.Token(oauthCtx(ctx, hc))
	if err != nil {
		return nil, tokenError(err)
	}
	tok, err := fromOAuth2(t, AuthClientCredentials)
	if err != nil {
		return nil, err
	}
	tok.RefreshToken = "" // none is issued; never keep one
	return tok, nil
}

// jwtLifetime is the assertion's exp; Salesforce allows about 3 minutes of
// skew and clients set now+3 min (simple-salesforce login.py; "OAuth 2.0
// JWT Bearer Flow for Server-to-Server Integration", help.salesforce.com).
const jwtLifetime = 3 * time.Minute

// jwtAssertion signs the JWT bearer assertion: RS256, iss=client_id,
// sub=username, aud=login_url, exp=now+3m.
func jwtAssertion(cfg Config, now time.Time) (string, error) {
	pemBytes, err := cfg.privateKey()
	if err != nil {
		return "", err
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		return "", fmt.Errorf("private key: not an RSA key in PEM (PKCS#1 or PKCS#8)")
	}
	return signAssertion(cfg, key, now)
}

func signAssertion(cfg Config, key *rsa.PrivateKey, now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    cfg.ClientID,
		Subject:   cfg.Username,
		Audience:  jwt.ClaimStrings{cmp.Or(cfg.JWTAudience, cfg.LoginURL)},
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign jwt assertion: %w", err)
	}
	return s, nil
}

// grantJWT runs the JWT bearer grant.
func grantJWT(ctx context.Context, cfg Config, hc *http.Client) (*Token, error) {
	assertion, err := jwtAssertion(cfg, time.Now())
	if err != nil {
		return nil, &APIError{Code: CodeTokenGrant, Message: err.Error(), class: syncd.ErrSession,
			Hint: "check private_key_file"}
	}
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	tok, err := postToken(ctx, hc, cfg.tokenURL(), form)
	if err != nil {
		return nil, err
	}
	tok.Flow = AuthJWTBearer
	tok.RefreshToken = ""
	return tok, nil
}

// postToken posts a grant to the token endpoint and parses the Salesforce
// token response or OAuth error ({"error","error_description"}).
func postToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (*Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, transportError(err)
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var oe struct {
			Error string `json:"error"`
			Desc  string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &oe)
		return nil, oauthError(resp.StatusCode, ct, oe.Error, oe.Desc, body)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		InstanceURL  string `json:"instance_url"`
		ID           string `json:"id"`
		Scope        string `json:"scope"`
		IssuedAt     any    `json:"issued_at"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, oauthError(resp.StatusCode, ct, "", "", body)
	}
	tok := &Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, InstanceURL: tr.InstanceURL,
		ID: tr.ID, Scope: tr.Scope, IssuedAt: parseIssuedAt(tr.IssuedAt)}
	return tok, checkToken(tok)
}
