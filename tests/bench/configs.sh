# shellcheck shell=bash
# tests/bench/configs.sh: sourced by run.sh. The certificates and the configurations of the
# upstream and of every target, written into $B on each run (see README.md).

# ---------------------------------------------------------------------------------------------
# Certificates: a server CA and the server certificate for localhost; the partner's CA and the
# client certificate it issued. EC P-256 keys, generated on every run (90 days: Portico warns below 30).

gen_certs() {
    local d=$B/certs
    mkdir -p "$d"
    ca() { # name subject
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$d/$1.key" -out "$d/$1.pem" -days 90 -subj "$2" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    }
    leaf() { # name subject issuer extensions
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$d/$1.key" -out "$d/$1.csr" -subj "$2" 2>/dev/null
        printf '%b' "$4" >"$d/$1.ext"
        openssl x509 -req -in "$d/$1.csr" -CA "$d/$3.pem" -CAkey "$d/$3.key" -days 90 \
            -set_serial "0x$(openssl rand -hex 8)" -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null
    }
    ca server-ca "/O=Portico bench/CN=Bench server CA"
    local leaf_ext="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    leaf server "/O=Portico bench/CN=localhost" server-ca \
        "${leaf_ext}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
    ca ca "/O=Bench Partner/CN=Bench Partner CA"
    leaf client "/O=Bench Partner/CN=bench-client" ca "${leaf_ext}extendedKeyUsage=clientAuth\n"
    openssl verify -CAfile "$d/ca.pem" "$d/client.pem" >/dev/null || die "client certificate"
    # the partner's signing keys (the signed cases): P-256 for jws (ES256), RSA 2048 for xmldsig
    # (RSA-SHA256), each with a self-signed certificate, the bundle's "signing"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/sign-ec.key" -out "$d/sign-ec.pem" -days 90 \
        -subj "/O=Bench Partner/CN=bench-signing-ec" 2>/dev/null
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$d/sign-rsa.key" \
        -out "$d/sign-rsa.pem" -days 90 -subj "/O=Bench Partner/CN=bench-signing-rsa" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Configurations. Access logs off everywhere (Portico keeps none without audit), except on
# nginx-log, the anchor for what an access log costs; the client keep-alive allows as many
# requests per connection as Portico's default (10000; HAProxy 2.6 has no such limit); upstream
# connections are kept alive (64 idle per nginx worker, as Portico's pool; HAProxy's idle pool
# shared by all its connections, http-reuse always).

# notice: nginx then logs who sent it a signal, for when something else stops it.
nginx_common() { # prefix dir
    cat <<EOF
pid $1/nginx.pid;
error_log $1/error.log notice;
EOF
}

nginx_temp() { # prefix dir
    local t
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $1/tmp/$t;"; done
}

# The upstream: one nginx worker, one server block answering BODY on UP_PORT and on the three
# ports of SET_PORTS, the targets of Portico's upstream set (the upset case): the same server, so
# that the set's route and the single one differ only by the balancing. /set/port answers the
# port a request came in on (verify_target checks the set's spread with it; no case loads it).
upstream_config() {
    local d=$B/upstream
    mkdir -p "$d/tmp"
    {
        nginx_common "$d"
        cat <<EOF
worker_processes 1;
events { worker_connections 4096; }
http {
    access_log off;
$(nginx_temp "$d")
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$UP_PORT reuseport;
$(for p in "${SET_PORTS[@]}"; do echo "        listen 127.0.0.1:$p reuseport;"; done)
        default_type application/json;
        location / { return 200 '$BODY\n'; }
        location = /set/port { return 200 '\$server_port'; }
    }
}
EOF
    } >"$d/nginx.conf"
}

# nginx_proxy_config [TARGET]: nginx as the reference proxy, in TARGET's folder on its ports:
# nginx (no access log) or nginx-log (the same plus a buffered JSON access log of ten fields,
# access.log in its folder).
nginx_proxy_config() {
    local t=${1:-nginx} c=$B/certs
    local d=$B/$t
    # shellcheck disable=SC2016
    local fwd='proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Request-Id $request_id;'
    local log='access_log off;'
    if [ "$t" = nginx-log ]; then
        # shellcheck disable=SC2016
        log='log_format portico_json escape=json
        '\''{"time":"$time_iso8601","request_id":"$request_id",'\''
        '\''"remote_addr":"$remote_addr","remote_port":"$remote_port",'\''
        '\''"method":"$request_method","uri":"$uri","status":$status,'\''
        '\''"upstream_addr":"$upstream_addr","upstream_response_time":"$upstream_response_time",'\''
        '\''"request_time":$request_time}'\'';
    access_log '"$d"'/access.log portico_json buffer=64k flush=1s;'
    fi
    mkdir -p "$d/tmp"
    {
        nginx_common "$d"
        cat <<EOF
worker_processes 2;
worker_rlimit_nofile $NOFILE;
events { worker_connections $((NOFILE / 2)); }
http {
    $log
$(nginx_temp "$d")
    keepalive_requests 10000;
    upstream backend {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:${PORT[$t.plain]} reuseport;
        location /plain/ {
            proxy_pass http://backend;
            $fwd
        }
    }
    server {
        listen 127.0.0.1:${PORT[$t.tls]} ssl reuseport;
        ssl_certificate $c/server.pem;
        ssl_certificate_key $c/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate $c/ca.pem;
        ssl_verify_client on;
        location /tls/ {
            proxy_pass http://backend;
            $fwd
            proxy_set_header X-Client-Subject \$ssl_client_s_dn;
        }
    }
}
EOF
    } >"$d/nginx.conf"
}

# HAProxy as the second reference proxy, set up for the same work as nginx: 2 threads in one
# process, the plain and the TLS listener forwarding /plain/ and /tls/ to the upstream, idle
# upstream connections shared by all (http-reuse always), X-Forwarded-For, X-Request-Id (a
# unique-id), on TLS the client certificate required (partner CA) and its subject passed on in
# X-Client-Subject (RFC 2253, as nginx's $ssl_client_s_dn). No log. The certificate and key are
# one PEM file for its "crt". maxconn: two descriptors per connection (client and upstream side)
# within the open files limit, as nginx's worker_connections.
haproxy_config() {
    local d=$B/haproxy c=$B/certs
    mkdir -p "$d"
    cat "$c/server.pem" "$c/server.key" >"$d/server.pem"
    cat >"$d/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn $(((NOFILE - 1000) / 2))

defaults
    mode http
    maxconn $(((NOFILE - 1000) / 2))
    timeout connect 5s
    timeout client 75s
    timeout server 75s
    timeout http-keep-alive 75s
    http-reuse always
    option forwardfor
    unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid

frontend plain
    bind 127.0.0.1:${PORT[haproxy.plain]}
    http-request return status 404 unless { path_beg /plain/ }
    http-request set-header X-Request-Id %[unique-id]
    default_backend upstream

frontend tls
    bind 127.0.0.1:${PORT[haproxy.tls]} ssl crt $d/server.pem ca-file $c/ca.pem verify required ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3
    http-request return status 404 unless { path_beg /tls/ }
    http-request set-header X-Request-Id %[unique-id]
    http-request set-header X-Client-Subject %[ssl_c_s_dn(,0,rfc2253)]
    default_backend upstream

backend upstream
    server up 127.0.0.1:$UP_PORT
EOF
}

# The chain of the "chain" case: pain.001 to JSON (namespaces stripped, payment blocks and
# transactions always arrays), then reshaped into our payment document.
PAIN_TO_JSON='{ "namespaces": "strip", "arrays": ["PmtInf", "CdtTrfTxInf"], "numbers": ["CtrlSum"] }'
# shellcheck disable=SC2016 # ${request.id} is Portico's, not the shell's
PAIN_MAP='{ "ops": [
                { "move": { "from": "/Document/CstmrCdtTrfInitn/GrpHdr", "to": "/header" } },
                { "move": { "from": "/Document/CstmrCdtTrfInitn/PmtInf", "to": "/batches" } },
                { "delete": { "path": "/Document" } },
                { "set": { "path": "/received_from", "value": "${request.id}" } } ] }'

# The chain of the "chain-camt" case: a camt.053 statement to JSON (namespaces stripped,
# statements and entries always arrays, amounts as numbers), then reshaped likewise.
CAMT_TO_JSON='{ "namespaces": "strip", "arrays": ["Stmt", "Ntry", "Bal"], "numbers": ["Amt", "TxAmt"] }'
# shellcheck disable=SC2016 # ${request.id} is Portico's, not the shell's
CAMT_MAP='{ "ops": [
                { "move": { "from": "/Document/BkToCstmrStmt/GrpHdr", "to": "/header" } },
                { "move": { "from": "/Document/BkToCstmrStmt/Stmt", "to": "/statements" } },
                { "delete": { "path": "/Document" } },
                { "set": { "path": "/received_from", "value": "${request.id}" } } ] }'

# The body of the kafka case: a JSON order of exactly 1024 bytes (no newline), the same bytes on
# both of its routes. A fixed document, padded to size by its "note".
ORDER_1K_HEAD='{"order":{"id":"PO-2024-0042","partner":"bench-partner","currency":"CHF",'
ORDER_1K_HEAD+='"ship_to":{"name":"Bench Partner AG","street":"Bahnhofstrasse 1","city":"Zurich",'
ORDER_1K_HEAD+='"country":"CH"},"lines":['
for _i in 1 2 3 4 5 6 7 8; do
    ORDER_1K_HEAD+="{\"line\":$_i,\"sku\":\"SKU-10$_i\",\"qty\":$_i,\"price\":\"12.50\"},"
done
unset _i
ORDER_1K_HEAD="${ORDER_1K_HEAD%,}],\"total\":\"450.00\"},\"note\":\""

# order_1k FILE: write that body to FILE.
order_1k() {
    local pad=$((1024 - ${#ORDER_1K_HEAD} - 2))
    { printf '%s' "$ORDER_1K_HEAD"; printf "%${pad}s" "" | tr ' ' x; printf '"}'; } >"$1"
    [ "$(wc -c <"$1")" = 1024 ] || die "$1: not 1024 bytes"
}

# post_lua SCRIPT FILE TYPE [FIELD VALUE]: a wrk script that POSTs FILE as Content-Type TYPE,
# with the field FIELD: VALUE when given.
post_lua() {
    {
        echo "-- wrk: POST $(basename "$2") as $3"
        echo 'wrk.method = "POST"'
        echo "wrk.headers[\"Content-Type\"] = \"$3\""
        [ $# -lt 5 ] || echo "wrk.headers[\"$4\"] = \"$5\""
        echo "local f = assert(io.open(\"$2\", \"rb\"))"
        echo 'wrk.body = f:read("*a")'
        echo 'f:close()'
    } >"$1"
}

# portico_config [TARGET [AUDIT [SET [KAFKA [ADMIN]]]]]: TARGET's folder and ports (portico,
# portico-audit, portico-prev, portico-kafka or portico-metrics); AUDIT is the "audit" section,
# when there is one; ADMIN, when given, the port of an admin listener on 127.0.0.1 (its metrics
# on: portico-metrics).
# The upstream set "upset" (the three targets of SET_PORTS, round robin, the set's other keys at
# their defaults) and its route /set/* are in the configuration unless SET is "noset" (a previous
# build without upstream sets). KAFKA, when given, is a broker's bootstrap address: it becomes
# connectors.kafka's brokers, and the kafka case's two public POST routes are added, /kafka/orders
# (kafka://bench.orders, ack kafka: 202 once Kafka has the message), /local/orders
# (kafka://bench.local, ack local: 202 once the node's outbox has it) and /mock/orders (mock:202).
# A mock reads no request body and so closes the connection after answering a POST
# (connectors/mock.c): wrk would then open a connection for every request of B. The mock route
# therefore has a request chain whose one step never applies to the JSON order (xml_to_json, when
# the content type is XML): a chain that needs the body reads it whole first, as the kafka route
# does, and the connection stays open. verify_kafka checks that both routes keep it.
portico_config() {
    local t=${1:-portico} audit=${2:-} set=${3:-set} kafka=${4:-} admin=${5:-}
    local d=$B/$t up=http://127.0.0.1:$UP_PORT audit_line="" set_lines="" set_route="" p
    local kafka_line="" kafka_routes="" admin_line="" limited_route="" cluster_line=""
    # the limits cases' route, on portico and portico-redis only (a previous build may not know
    # route limits); portico-redis counts them in Redis
    [ "$t" = portico-redis ] && cluster_line="\"cluster\": { \"redis\": { \"addresses\": [ \"127.0.0.1:$REDIS_PORT\" ] } },"
    [ "$t" != portico ] && [ "$t" != portico-redis ] || limited_route='
        { "name": "limited", "path": "/limited/*", "upstream": "'"$up"'", "public": true,
          "limits": { "requests_per_s": 1000000, "burst": 1000000, "concurrent": 100000,
                      "requests_per_day": 1000000000000, "requests_per_month": 1000000000000 } },'
    [ -z "$audit" ] || audit_line="\"audit\": $audit,"
    [ -z "$admin" ] || admin_line="\"admin\": { \"address\": \"127.0.0.1:$admin\" },"
    if [ -n "$kafka" ]; then
        kafka_line="\"connectors\": { \"kafka\": { \"brokers\": \"$kafka\" } },"
        kafka_routes=',
        { "name": "kafka-orders", "path": "/kafka/orders", "methods": ["POST"],
          "upstream": "kafka://bench.orders", "public": true },
        { "name": "local-orders", "path": "/local/orders", "methods": ["POST"],
          "upstream": "kafka://bench.local", "kafka": { "ack": "local" }, "public": true },
        { "name": "mock-orders", "path": "/mock/orders", "methods": ["POST"],
          "upstream": "mock:202", "public": true,
          "request": [ { "xml_to_json": {}, "when": { "content_type": "xml" } } ] }'
    fi
    if [ "$set" != noset ]; then
        set_lines='"upstreams": { "upset": { "targets": ['
        for p in "${SET_PORTS[@]}"; do set_lines+=" \"http://127.0.0.1:$p\","; done
        set_lines="${set_lines%,} ] } },"
        set_route=',
        { "name": "set", "path": "/set/*", "upstream": "upset", "public": true }'
    fi
    mkdir -p "$d/partners.d/bench-partner"
    cp "$B/certs/server.pem" "$B/certs/server.key" "$d/"
    cp "$B/certs/ca.pem" "$d/partners.d/bench-partner/"
    cat >"$d/portico.json" <<EOF
{
    "node": "bench",
    "workers": 2,
    "listeners": [
        { "address": "127.0.0.1:${PORT[$t.plain]}" },
        { "address": "127.0.0.1:${PORT[$t.tls]}",
          "tls": { "certificates": [ { "cert": "server.pem", "key": "server.key" } ],
                   "client_auth": "require" } }
    ],
    "partners_dir": "partners.d",
    $audit_line
    $admin_line
    $cluster_line
    $kafka_line
    $set_lines
    "limits": { "max_connections": 20000 },
    "routes": [
        { "name": "plain", "path": "/plain/*", "upstream": "$up", "public": true },$limited_route
        { "name": "xml-none", "path": "/xml/none/*", "upstream": "$up", "public": true },
        { "name": "xml-chain", "path": "/xml/chain/*", "upstream": "$up", "public": true,
          "request": [
            { "xml_to_json": $PAIN_TO_JSON, "when": { "content_type": "xml" } },
            { "json_map": $PAIN_MAP }
          ] },
        { "name": "xml-chain-camt", "path": "/xml/camt-chain/*", "upstream": "$up", "public": true,
          "request": [
            { "xml_to_json": $CAMT_TO_JSON, "when": { "content_type": "xml" } },
            { "json_map": $CAMT_MAP }
          ] }$set_route$kafka_routes
    ]
}
EOF
    post_lua "$B/post-pain.lua" "$PAIN001" application/xml
    post_lua "$B/post-camt.lua" "$SAMPLES/camt.053-sample.xml" application/xml
    # the chains as transform_bench runs them (tfbench: the chain's CPU beside the parse)
    printf '[ { "xml_to_json": %s }, { "json_map": %s } ]\n' "$PAIN_TO_JSON" "$PAIN_MAP" \
        >"$B/chain-pain.json"
    printf '[ { "xml_to_json": %s }, { "json_map": %s } ]\n' "$CAMT_TO_JSON" "$CAMT_MAP" \
        >"$B/chain-camt.json"
    order_1k "$B/order-1k.json"
    post_lua "$B/post-order-1k.lua" "$B/order-1k.json" application/json
    # the signed cases' routes, on portico only (a previous build may not know signatures)
    local signing="" signed_routes=""
    if [ "$t" = portico ]; then
        cp "$B/certs/sign-ec.pem" "$B/certs/sign-rsa.pem" "$d/partners.d/bench-partner/"
        signing='"signing": [ { "certificate": "sign-ec.pem", "kid": "bench-ec" },
                             { "certificate": "sign-rsa.pem", "kid": "bench-rsa" } ],'
        signed_routes=',
        { "name": "jws", "path": "/tls/jws/*", "upstream": "'"$up"'",
          "request": [ { "jws": { "verify": { "algorithms": [ "ES256" ] },
                                  "header": "X-JWS-Signature" } } ] },
        { "name": "xmldsig", "path": "/tls/xmldsig/*", "upstream": "'"$up"'",
          "request": [ { "xmldsig": { "verify": { "algorithms": [ "'"$RSA_SHA256"'" ] } } } ] }'
    fi
    cat >"$d/partners.d/bench-partner/partner.json" <<EOF
{
    "id": "bench-partner",
    "name": "Bench Partner",
    "identity": { "ca": "ca.pem" },
    $signing
    "routes": [
        { "name": "orders", "path": "/tls/*", "upstream": "$up" }$signed_routes
    ]
}
EOF
}

RSA_SHA256=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256

# signed_inputs: the signed cases' requests, signed once before the run by `portico transform`
# with a signer configuration ($B/signer) that holds the partner's signing keys as its own: the
# 1 KB JSON order with a detached JWS (ES256, unencoded payload) in X-JWS-Signature, and the
# pain.001 with an enveloped XML signature (RSA-SHA256, the certificate in KeyInfo).
signed_inputs() {
    local d=$B/signer c=$B/certs sig
    mkdir -p "$d/partners.d/bench-partner"
    cp "$c/ca.pem" "$c/sign-ec.key" "$c/sign-ec.pem" "$c/sign-rsa.key" "$c/sign-rsa.pem" \
        "$d/partners.d/bench-partner/"
    echo '{ "node": "signer", "listeners": [ { "address": "127.0.0.1:1" } ], "partners_dir": "partners.d" }' \
        >"$d/portico.json"
    cat >"$d/partners.d/bench-partner/partner.json" <<EOF
{
    "id": "bench-partner", "name": "Bench Partner", "identity": { "ca": "ca.pem" },
    "routes": [
        { "name": "sign-jws", "path": "/sign/jws", "upstream": "mock:200",
          "request": [ { "jws": { "sign": { "key": "sign-ec.key", "alg": "ES256", "kid": "bench-ec" },
                                  "header": "X-JWS-Signature" } } ] },
        { "name": "sign-xml", "path": "/sign/xml", "upstream": "mock:200",
          "request": [ { "xmldsig": { "sign": { "key": "sign-rsa.key", "certificate": "sign-rsa.pem",
                                                "alg": "$RSA_SHA256" } } } ] }
    ]
}
EOF
    "$PORTICO" transform -c "$d/portico.json" --partner bench-partner --route sign-xml \
        --content-type application/xml "$PAIN001" >"$B/pain-signed.xml" ||
        die "signing the xmldsig case's pain.001"
    post_lua "$B/post-pain-signed.lua" "$B/pain-signed.xml" application/xml
    sig=$("$PORTICO" transform -c "$d/portico.json" --partner bench-partner --route sign-jws -i \
        --content-type application/json "$B/order-1k.json" | sed -n 's/^X-JWS-Signature: //p')
    [ -n "$sig" ] || die "signing the jws case's order: no X-JWS-Signature"
    echo "$sig" >"$B/order-1k.jws"
    post_lua "$B/post-order-1k-jws.lua" "$B/order-1k.json" application/json X-JWS-Signature "$sig"
}
