# lib-rate-redis.sh - start outpost on conf/rate-redis.conf with a Redis
# of the test's own (sourced by t-rate-client-redis-*.sh after daemon.sh).
#
# redis_up ONERROR [PORT]: start redis-server on PORT (default: a free one)
# unless PORT is "closed" (nothing listens there), then outpost with
# actions.on_store_error = ONERROR.  Sets REDIS_PORT, REDIS_PID.
# redis_stop: stop that Redis.  Exit 77 when redis-server is missing.
REDIS_PID=
command -v redis-server >/dev/null 2>&1 || { echo "skip: redis-server not installed"; exit 77; }

redis_free_port() {
	local p
	# below the ephemeral range: a client's local port there makes bind fail
	for p in $(shuf -i 20000-32767 -n 50); do
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

redis_up() {
	local i try
	for try in 1 2 3; do
		REDIS_PORT=$(redis_free_port)
		[ "${2:-}" = closed ] && break
		redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
			--dir /tmp --daemonize no >/dev/null 2>&1 &
		REDIS_PID=$!
		for i in $(seq 100); do
			redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break 2
			kill -0 "$REDIS_PID" 2>/dev/null || break
			sleep 0.05
		done
		redis_stop
	done
	# proto_start's steps, with the port and the action put in the config
	dir=$(mktemp -d /tmp/outpost-proto.XXXXXX)
	trap 'redis_stop; proto_stop' EXIT
	sed "s#@DIR@#$dir#g; s/@REDISPORT@/$REDIS_PORT/; s/@ONERROR@/$1/" \
		"$srcdir/tests/proto/conf/rate-redis.conf" >"$dir/outpost.conf"
	"$OUTPOST" -f -c "$dir/outpost.conf" 2>"$dir/outpost.log" &
	pid=$!
	for i in $(seq 100); do [ -S "$dir/outpost.sock" ] && return 0; sleep 0.05; done
	echo "FAIL: outpost did not start:"
	cat "$dir/outpost.log"
	return 1
}

redis_stop() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
}
