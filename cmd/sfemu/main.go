// Command sfemu runs the Salesforce REST emulator on a TCP address.
//
//	sfemu --listen 127.0.0.1:8383 [--contacts N] [--state FILE]
//
// On start it prints exactly one JSON line on stdout with login_url, instance_url, client_id,
// client_secret, username, password, access_token and refresh_token, then serves until SIGINT
// or SIGTERM. With --state, the org is loaded from FILE if it exists and saved to it on exit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sfemu:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8383", "address to listen on")
	contacts := flag.Int("contacts", 0, "seed this many Contacts (when no state was loaded)")
	state := flag.String("state", "", "state file: loaded at start if present, saved on exit")
	ttl := flag.Duration("session-ttl", sfemu.DefaultSessionTTL, "access token lifetime")
	limit := flag.Int("daily-limit", sfemu.DefaultDailyLimit, "daily API request allocation")
	latency := flag.Duration("latency", 0, "latency added to each request")
	rotation := flag.Bool("refresh-token-rotation", false, "rotate refresh tokens on each refresh")
	flag.Parse()

	s := sfemu.New(sfemu.Options{SessionTTL: *ttl, DailyLimit: *limit, Latency: *latency, RefreshTokenRotation: *rotation})
	loaded := false
	if *state != "" {
		err := s.Load(*state)
		switch {
		case err == nil:
			loaded = true
		case errors.Is(err, fs.ErrNotExist):
		default:
			return err
		}
	}
	if !loaded && *contacts > 0 {
		s.SeedContacts(*contacts)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
	at, rt := s.MintSession()
	line := struct {
		LoginURL     string `json:"login_url"`
		InstanceURL  string `json:"instance_url"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Username     string `json:"username"`
		Password     string `json:"password"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}{base, base, sfemu.ClientID, sfemu.ClientSecret, sfemu.Username, sfemu.Password, at, rt}
	b, _ := json.Marshal(line)
	fmt.Println(string(b))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	if *state != "" {
		if err := s.Save(*state); err != nil {
			return err
		}
		log.Printf("state saved to %s", *state)
	}
	return nil
}
