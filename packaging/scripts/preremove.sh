#!/bin/sh
# On removal (not on upgrade), stop and disable the service.
set -e
case "$1" in
  remove|purge|0)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now syncd.service >/dev/null 2>&1 || true
    fi
    ;;
esac
