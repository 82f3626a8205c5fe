#!/bin/sh
# An exec credential plugin (client.authentication.k8s.io/v1) for the plugin e2e: prints the dev
# API server's token from $TOKEN_FILE. With WRONG_FIRST=1 its first run in $STATE_DIR prints a token
# the server refuses, so the caller must run it again after the 401. Each run is counted.
set -eu
n=$(($(cat "$STATE_DIR/runs" 2>/dev/null || echo 0) + 1))
echo "$n" >"$STATE_DIR/runs"
token=$(cat "$TOKEN_FILE")
if [ "${WRONG_FIRST:-0}" = 1 ] && [ "$n" = 1 ]; then token=not-the-token; fi
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$token"
