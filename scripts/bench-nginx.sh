#!/usr/bin/env bash
# nginx as a caching proxy in front of the benchmark's origin, configured as TESTING-NOTES.md says
# (Host passed through and HEAD not turned into GET, else S3 rejects the signature), in the foreground
# under a throwaway prefix, listening on loopback only. The benchmark starts it and stops it (SIGTERM).
#
#   scripts/bench-nginx.sh PREFIX LISTEN_PORT ORIGIN_HOST:PORT
set -euo pipefail
prefix=$1 port=$2 origin=$3
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
  echo "nginx is not installed: run scripts/bench-setup.sh" >&2
  exit 3
fi
mkdir -p "$prefix/cache" "$prefix/tmp"
# Workers run as the user that starts the benchmark, so they can write the cache under the prefix.
user_line=""
if [ "$(id -u)" = 0 ]; then user_line="user root root;"; fi
cat >"$prefix/nginx.conf" <<CONF
$user_line
worker_processes 2;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  proxy_cache_path $prefix/cache levels=1:2 keys_zone=s3:32m max_size=50g inactive=1d use_temp_path=off;
  upstream origin {
    server $origin;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_cache s3;
      proxy_cache_convert_head off;
      proxy_cache_methods GET HEAD;
      # The presigned query is left out of the key, so that a URL signed anew hits: nginx then answers
      # without S3's word on the signature (Kura asks S3 when its rule says so).
      proxy_cache_key "\$request_method \$uri";
      proxy_cache_valid 200 1d;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 120s;
      proxy_read_timeout 120s;
    }
  }
}
CONF
exec "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -g 'daemon off;'
