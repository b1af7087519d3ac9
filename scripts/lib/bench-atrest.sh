# Shared by the benchmark scripts that drive a server of their own (sourced,
# not run): start atrest on a scratch data dir, read its administrator
# credentials, get tokens, and call Resource Manager.
#
# The caller defines log() and die(), the array CURL (curl with --cacert and
# the --resolve lines its hosts need) once atrest_start has returned, and
# ATREST_BIN.

# atrest_start DATA PORT LOG [serve flags...]: starts `atrest serve` in the
# background (its pid in ATREST_PID) and waits until it answers /healthz
# and has written its administrator credentials; then sets TENANT, CLIENT,
# SECRET, SUB and ADMIN_OID from them, and CA to its CA certificate.
atrest_start() {
  local data=$1 port=$2 logfile=$3 i
  shift 3
  CA="$data/tls/ca.crt"
  "$ATREST_BIN" serve --server-port "$port" --server-data-dir "$data" \
    --server-access-log '' "$@" >"$logfile" 2>&1 &
  ATREST_PID=$!
  for ((i = 0; i < 300; i++)); do
    if [[ -f "$data/admin-credentials.json" ]] &&
       curl -sf --cacert "$CA" -o /dev/null "https://localhost:$port/healthz"; then
      break
    fi
    kill -0 "$ATREST_PID" 2>/dev/null || { tail -20 "$logfile" >&2; die "atrest exited"; }
    sleep 0.1
  done
  ((i < 300)) || die "atrest did not start within 30 s"
  local creds="$data/admin-credentials.json"
  TENANT="$(jq -r .tenantId "$creds")"
  CLIENT="$(jq -r .clientId "$creds")"
  SECRET="$(jq -r .clientSecret "$creds")"
  SUB="$(jq -r .subscriptionId "$creds")"
  ADMIN_OID="$(jq -r .objectId "$creds")"
}

# atrest_token PORT AUDIENCE: a client-credentials token of the
# administrator for AUDIENCE.
atrest_token() {
  "${CURL[@]}" -f "https://login.localhost:$1/$TENANT/oauth2/v2.0/token" \
    -d grant_type=client_credentials -d client_id="$CLIENT" \
    --data-urlencode client_secret="$SECRET" \
    --data-urlencode scope="$2/.default" | jq -r .access_token
}

# arm METHOD URL [JSON]: the response body on stdout; dies on a non-2xx
# status. Uses MGMT_TOKEN.
arm() {
  local out code body=(-H 'content-length: 0')
  [[ -n "${3:-}" ]] && body=(-H 'content-type: application/json' -d "$3")
  out="$("${CURL[@]}" -X "$1" "$2" -H "authorization: Bearer $MGMT_TOKEN" \
    "${body[@]}" -w '\n%{http_code}')"
  code="${out##*$'\n'}"
  [[ "$code" == 2* ]] || die "$1 $2 answered $code: ${out%$'\n'*}"
  printf '%s\n' "${out%$'\n'*}"
}
