# shellcheck shell=bash
# Shared by the RBAC script tests (sourced after hack/lib/common.sh, with ROOT, RUN and DEV_APISERVER
# set): a dev API server with RBAC authorization (its default) on free loopback ports, NovaCron's
# CRDs, namespaces and RBAC manifests applied as an administrator would, and kubeconfigs that
# authenticate as a service account with a token from the TokenRequest API (`kubectl create
# token`), written owner-only.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_rbac_cluster: starts etcd + the dev API server under $RUN/api, exports KUBECONFIG (the
# administrator, system:masters) and applies crds/, config/default/namespace.yaml and config/rbac.
start_rbac_cluster() {
  API_PORT="$(free_port)"
  RUN_DIR="$RUN/api" API_PORT="$API_PORT" ETCD_PORT="$(free_port)" \
    ETCD_PEER_PORT="$(free_port)" "$ROOT/hack/dev-cluster.sh" start >"$RUN/dev-cluster.log" 2>&1 ||
    die "dev-cluster start failed: $(cat "$RUN/dev-cluster.log")"
  export KUBECONFIG="$RUN/api/kubeconfig"
  wait_for 30 "the API server" kubectl get --raw /readyz || die "API server not ready"
  kubectl apply -f "$ROOT/crds/" >"$RUN/kubectl.log" 2>&1 || die "kubectl apply crds"
  kubectl wait --for condition=established --timeout=60s crd --all >>"$RUN/kubectl.log" 2>&1 ||
    die "CRDs not established"
  kubectl apply -f "$ROOT/config/default/namespace.yaml" >>"$RUN/kubectl.log" 2>&1 ||
    die "kubectl apply namespaces"
  kubectl apply -k "$ROOT/config/rbac" >>"$RUN/kubectl.log" 2>&1 ||
    die "kubectl apply -k config/rbac: $(tail -5 "$RUN/kubectl.log")"
}

stop_rbac_cluster() {
  RUN_DIR="$RUN/api" "$ROOT/hack/dev-cluster.sh" stop >/dev/null 2>&1 || true
}

# sa_kubeconfig SERVICE_ACCOUNT FILE: a kubeconfig for novacron-system/SERVICE_ACCOUNT with a
# one-hour token, the administrator's server and CA, and nothing else.
sa_kubeconfig() {
  local sa="$1" file="$2" token server ca
  token="$(kubectl create token "$sa" -n novacron-system --duration=1h)" ||
    die "kubectl create token $sa"
  server="$(kubectl config view --raw --minify -o 'jsonpath={.clusters[0].cluster.server}')"
  ca="$(kubectl config view --raw --minify \
    -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}')"
  (
    umask 077
    cat >"$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: $sa
  user: {token: "$token"}
contexts:
- name: $sa
  context: {cluster: dev, user: $sa}
current-context: $sa
YAML
  )
}
