#!/bin/sh
# run-demo.sh: what `make run` starts. Makes the demo's certificates (build/demo), starts the demo
# upstream on 127.0.0.1:9000 in the background, prints requests to try, then runs the gateway in
# the foreground until Ctrl-C, which stops both.
# Env: PORTICO (the gateway binary), BUILD (the build folder holding examples/demo_upstream).
set -eu
: "${PORTICO:?PORTICO must name the portico binary}" "${BUILD:?BUILD must name the build folder}"

here=$(cd "$(dirname "$0")" && pwd)
demo=${DEMO_DIR:-build/demo}
upstream_addr=127.0.0.1:9000
upstream_bin="$BUILD/examples/demo_upstream"

sh "$here/gen-certs.sh" "$demo"

[ -x "$upstream_bin" ] || { echo "run-demo: $upstream_bin is missing (make build)" >&2; exit 1; }
[ -x "$PORTICO" ] || { echo "run-demo: $PORTICO is missing (make build)" >&2; exit 1; }

up=""
stop() {
    if [ -n "$up" ]; then
        kill "$up" 2>/dev/null || true
        wait "$up" 2>/dev/null || true
        up=""
    fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$upstream_bin" "$upstream_addr" &
up=$!
i=0
until curl -s -o /dev/null --max-time 1 "http://$upstream_addr/ready"; do
    i=$((i + 1))
    if [ "$i" -ge 30 ] || ! kill -0 "$up" 2>/dev/null; then
        echo "run-demo: the demo upstream did not start on $upstream_addr (port in use?)" >&2
        exit 1
    fi
    sleep 0.1
done

tls="--cacert $demo/server-ca.pem"
acme="--cert $demo/clients/acme-bank/client.pem --key $demo/clients/acme-bank/client.key"
globex="--cert $demo/clients/globex-logistics/client.pem"
globex="$globex --key $demo/clients/globex-logistics/client.key"
base=https://localhost:8443

cat <<EOF

Portico demo: gateway on $base, demo upstream on http://$upstream_addr (it echoes what it got).
Try, from another terminal in this folder:

  # a public shared route, no client certificate needed
  curl $tls $base/health

  # ACME Bank with its client certificate: the upstream sees X-Partner-Id: acme-bank
  curl $tls -H 'Content-Type: application/json' -d '{"amount": 100}' \\
       $acme \\
       $base/acme/payments
  curl $tls $acme \\
       $base/acme/accounts/CH93-0076-2011-6238-5295-7

  # ACME Bank posts an ISO 20022 pain.001 in XML: the route's chain turns it into JSON
  # (xml_to_json, then json_map); the upstream sees application/json
  curl $tls $acme -H 'Content-Type: application/xml' \\
       --data-binary @tests/data/samples/pain.001.001.03.ch.02-musterfile.xml \\
       $base/acme/payments/pain001
  # the same chain offline, without the gateway
  bin/portico transform -c $demo/portico.json --partner acme-bank --route payments-xml \\
       tests/data/samples/pain.001.001.03.ch.02-musterfile.xml

  # Globex Logistics with its own
  curl $tls $globex \\
       $base/globex/shipments/42

  # no certificate on a partner route: 401
  curl -i $tls $base/acme/payments

  # ACME's certificate on Globex's route: 403
  curl -i $tls $acme \\
       $base/globex/shipments/42

  # the public use: a developer gets an API key (shown once), calls, hits the free plan's
  # 2 requests a second (429 with Retry-After and RateLimit fields); README, "The public use"
  curl -s -X POST http://127.0.0.1:9901/consumers -d '{"plan": "free", "id": "jane-app"}'
  curl $tls -H "X-API-Key: ptk_..." $base/public/weather/zurich
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' $tls \
       -H "X-API-Key: ptk_..." $base/public/weather/zurich; done; echo
  bin/portico audit report -c $demo/portico.json --usage --period \$(date -u +%Y-%m) --format csv

  # the admin API (loopback): status, partners, metrics; a new partner: README, "Onboarding"
  curl http://127.0.0.1:9901/status
  curl http://127.0.0.1:9901/partners
  curl -s http://127.0.0.1:9901/metrics | grep portico_requests_total

Ctrl-C stops the gateway and the upstream.

EOF

# In the foreground, not exec'd: the EXIT trap must still stop the upstream afterwards.
set +e
"$PORTICO" serve -c "$demo/portico.json"
rc=$?
set -e
exit "$rc"
