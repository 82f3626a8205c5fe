#!/bin/sh
# A fake exec credential plugin for exec_credential_test: records each run and what it was given
# (args, FAKE_* env, KUBERNETES_EXEC_INFO) in $FAKE_STATE_DIR, then prints an ExecCredential.
#   FAKE_MODE=token (default) | cert | fail | garbage | wrong-version
#   FAKE_EXPIRY: an expirationTimestamp to include
set -eu
dir="${FAKE_STATE_DIR:?}"
n=$(($(cat "$dir/runs" 2>/dev/null || echo 0) + 1))
echo "$n" >"$dir/runs"
printf '%s\n' "$@" >"$dir/args"
printf '%s' "${KUBERNETES_EXEC_INFO:-}" >"$dir/exec_info"
api="${FAKE_API_VERSION:-client.authentication.k8s.io/v1}"
expiry=""
if [ -n "${FAKE_EXPIRY:-}" ]; then expiry=",\"expirationTimestamp\":\"$FAKE_EXPIRY\""; fi
case "${FAKE_MODE:-token}" in
  token)
    echo "{\"apiVersion\":\"$api\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-$n\"$expiry}}" ;;
  cert)
    printf '%s\n' "{\"apiVersion\":\"$api\",\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nQ0VSVA==\\n-----END CERTIFICATE-----\\n\",\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\nS0VZ\\n-----END PRIVATE KEY-----\\n\"$expiry}}" ;;
  fail)
    echo "login required: run fake-login" >&2
    exit 3 ;;
  garbage)
    echo "not json" ;;
  wrong-version)
    echo "{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"x\"}}" ;;
esac
