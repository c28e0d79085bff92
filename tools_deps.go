//go:build tools

package tools

import (
	_ "github.com/robfig/cron/v3"
	_ "golang.org/x/oauth2"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
	_ "github.com/google/uuid"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/coreos/go-systemd/v22/daemon"
)
