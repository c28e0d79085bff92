#!/bin/sh
# The unit is installed but not enabled: it needs the operator's config and
# credentials first (README, "Run it under systemd").
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # An upgrade restarts a running service on the new binary.
  if systemctl is-active --quiet syncd.service; then
    systemctl try-restart syncd.service || true
  fi
fi
