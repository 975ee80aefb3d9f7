#!/bin/sh
# gen-certs.sh DIR: lay out the demo in DIR (build/demo): the gateway config, the partner bundles and
# every certificate and key they need, made here with the openssl CLI. Nothing secret is ever
# committed: keys exist only inside DIR.
#
#   DIR/portico.json, DIR/partners.d/<id>/partner.json   copied from examples/ on every run
#   DIR/server-ca.pem                                   the CA clients trust (curl --cacert)
#   DIR/server.pem, DIR/server.key                      the listener's certificate: localhost
#   DIR/partners.d/<id>/ca.pem                          the partner's CA, next to its partner.json
#   DIR/clients/<id>/client.pem, client.key             what the partner presents (curl --cert/--key)
#   DIR/private/                                        the CA keys
#
# Idempotent: certificates that are there, verify against their CA and carry the expected subject
# are kept; anything missing or stale is made again. A partner's client subject is the
# identity.subject of its partner.json (RFC 2253), so a new bundle in examples/partners/ gets its
# certificates on the next run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
command -v openssl >/dev/null 2>&1 || { echo "gen-certs: openssl not found" >&2; exit 1; }

umask 077
mkdir -p "$dir/private" "$dir/clients" "$dir/partners.d"
log="$dir/private/openssl.log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Run openssl quietly; show what it said when it fails.
ossl() {
    if ! openssl "$@" >"$log" 2>&1; then
        echo "gen-certs: openssl $1 failed:" >&2
        cat "$log" >&2
        exit 1
    fi
}

# RFC 2253 ("CN=a,O=B,C=CH") to the openssl -subj form ("/C=CH/O=B/CN=a"). Kept simple: no
# escapes, '+' or '/' in the demo subjects.
subj_from_rfc2253() {
    case "$1" in
    *\\* | */* | *+*)
        echo "gen-certs: subject \"$1\" is too fancy for this script" >&2
        exit 1
        ;;
    esac
    printf '%s\n' "$1" | awk -F, '{ s = ""; for (i = NF; i >= 1; i--) s = s "/" $i; print s }'
}

# Does cert exist with its key, verify against ca and carry subject (RFC 2253)?
cert_ok() { # cert key ca subject
    [ -s "$1" ] && [ -s "$2" ] && [ -s "$3" ] || return 1
    openssl verify -CAfile "$3" -purpose any "$1" >/dev/null 2>&1 || return 1
    [ "$(openssl x509 -in "$1" -noout -subject -nameopt RFC2253 2>/dev/null)" = "subject=$4" ] ||
        return 1
    openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
}

# A self-signed CA, unless one is there that stays valid for another day.
make_ca() { # cert key subject(-subj form)
    if [ -s "$1" ] && [ -s "$2" ] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
    then
        return 0
    fi
    ossl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -keyout "$2" -out "$1" -days 3650 -subj "$3" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
    chmod 644 "$1"
    echo "gen-certs: new CA $1" >&2
}

# A leaf certificate signed by a CA. kind: server or client; san: extension value or "".
make_leaf() { # cert key ca ca_key subject(-subj form) kind san
    ext="$work/ext.cnf"
    {
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature, keyEncipherment"
        echo "authorityKeyIdentifier = keyid"
        if [ "$6" = server ]; then echo "extendedKeyUsage = serverAuth"
        else echo "extendedKeyUsage = clientAuth"; fi
        [ -z "$7" ] || echo "subjectAltName = $7"
    } >"$ext"
    ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -keyout "$2" -out "$work/req.csr" -subj "$5"
    ossl x509 -req -in "$work/req.csr" -CA "$3" -CAkey "$4" -sha256 -days 825 \
        -set_serial "0x$(openssl rand -hex 12)" -extfile "$ext" -out "$1"
    chmod 644 "$1"
    echo "gen-certs: new certificate $1 ($5)" >&2
}

# The config, copied every time so that edits in examples/ show up.
cp "$here/portico.json" "$dir/portico.json"
chmod 644 "$dir/portico.json"

# The secret API keys are hashed under (api_keys.secret_file): made once, kept, never shown.
if [ ! -s "$dir/api-keys.secret" ]; then
    (umask 077 && openssl rand -hex 32 >"$dir/api-keys.secret")
    echo "gen-certs: new API key secret $dir/api-keys.secret" >&2
fi

# The listener: a server CA and a certificate for localhost.
make_ca "$dir/server-ca.pem" "$dir/private/server-ca.key" "/O=Portico Demo/CN=Portico Demo Server CA"
if ! cert_ok "$dir/server.pem" "$dir/server.key" "$dir/server-ca.pem" "CN=localhost,O=Portico Demo"
then
    make_leaf "$dir/server.pem" "$dir/server.key" "$dir/server-ca.pem" "$dir/private/server-ca.key" \
        "/O=Portico Demo/CN=localhost" server "DNS:localhost,IP:127.0.0.1,IP:::1"
fi

# Each partner: its bundle, its CA, and the client certificate its constraints expect.
for bundle in "$here"/partners/*/; do
    id=$(basename "$bundle")
    [ -f "$bundle/partner.json" ] || continue
    pdir="$dir/partners.d/$id"
    cdir="$dir/clients/$id"
    mkdir -p "$pdir" "$cdir"
    cp "$bundle/partner.json" "$pdir/partner.json"
    chmod 644 "$pdir/partner.json"

    subject=$(sed -n 's/^.*"subject"[[:space:]]*:[[:space:]]*"\([^"]*\)".*$/\1/p' \
        "$bundle/partner.json" | head -n 1)
    [ -n "$subject" ] || subject="CN=$id-client,O=$id"

    make_ca "$pdir/ca.pem" "$dir/private/$id-ca.key" "/O=$id/CN=$id Partner CA (demo)"
    if ! cert_ok "$cdir/client.pem" "$cdir/client.key" "$pdir/ca.pem" "$subject"; then
        make_leaf "$cdir/client.pem" "$cdir/client.key" "$pdir/ca.pem" "$dir/private/$id-ca.key" \
            "$(subj_from_rfc2253 "$subject")" client ""
    fi
done
echo "gen-certs: certificates ready in $dir" >&2
