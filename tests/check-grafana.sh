#!/bin/sh
# check-grafana.sh - contrib/grafana-outpost.json is valid JSON (jq), every
# panel has a query, and every metric its queries name is one outpost
# exports (registered in plugin/metrics_outpost.c or plugin/metrics_http.c;
# _bucket, _sum and _count are a histogram's series), so the dashboard
# never shows "no data" for a metric that was renamed.
srcdir=${srcdir:-.}
dash=$srcdir/contrib/grafana-outpost.json
command -v jq >/dev/null 2>&1 || { echo "skip: jq not installed"; exit 77; }
fail=0
if ! jq -e . "$dash" >/dev/null; then
	echo "FAIL: $dash is not valid JSON"
	exit 1
fi
echo "ok: $dash parses"
n=$(jq '[.panels[] | select(.type != "row") | select((.targets // []) | length == 0)] | length' "$dash")
[ "$n" = 0 ] && echo "ok: every panel has a query" || { echo "FAIL: $n panels without a query"; fail=1; }
known=$(grep -ho '"outpost_[a-z0-9_]*"' "$srcdir/plugin/metrics_outpost.c" "$srcdir/plugin/metrics_http.c" | tr -d '"' | sort -u)
used=$(jq -r '.. | objects | (.expr?, .query?.query?, .definition?) | strings' "$dash" |
	grep -o 'outpost_[a-z0-9_]*' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
for m in $used; do
	if echo "$known" | grep -qx "$m"; then :; else
		echo "FAIL: the dashboard queries $m, which outpost does not export"
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "ok: the dashboard's $(echo "$used" | wc -w) metrics are all exported"
exit $fail
