#!/usr/bin/env bash
# Runs the latency matrix of docs/bench.md ("Latency proof") for one or
# more holocast-bench binaries, interleaved, and prints one Markdown table:
# 1, 2 and 4 sessions at 1280x720@30 and 640x360@30, each binary in turn
# for each size and round, so that builds compared are measured under the
# same load.
#
#   scripts/latency-proof.sh [-r ROUNDS] [-d DURATION] [-o DIR] LABEL=BINARY [LABEL=BINARY ...]
#   scripts/latency-proof.sh -t DIR      # print the table of an earlier run again
#
# e.g. go build -tags egl -o /tmp/bench-after ./cmd/holocast-bench (and a
# "before" build of another commit), then
#   scripts/latency-proof.sh before=/tmp/bench-before after=/tmp/bench-after
# Each level runs 2 s of warm-up and DURATION (default 8s) measured; one
# binary's matrix takes about 1.5 minutes. Runs go under nice -n 10. The
# JSON of every run and the load average before it stay in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=1 duration=8s dir="" table_only=""
while getopts "r:d:o:t:" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	d) duration=$OPTARG ;;
	o) dir=$OPTARG ;;
	t) table_only=$OPTARG ;;
	*) sed -n '2,16p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
command -v jq >/dev/null || { echo "latency-proof: needs jq" >&2; exit 1; }

table() {
	local d=$1
	echo "| frame | sessions | build | round | load avg | fps (min) | pose→frame p50 / p95 / p99 ms | pose age p50 | queue p50 | render / convert / encode wait / encode / send p50 ms | pose→frame ÷ (r+c+e+s) | pred. error p50 / mean ° | kbit/s |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for f in "$d"/*.json; do
		local base load
		base=$(basename "$f" .json) # LABEL_WxH_rN
		load=$(cat "$d/$base.load" 2>/dev/null || echo "?")
		jq -r --arg base "$base" --arg load "$load" '
			($base | split("_")) as $p |
			.runs[] | .stages_ms as $s |
			($s.render.p50 + $s.convert.p50 + $s.encode.p50 + $s.send.p50) as $work |
			"| \(.width)x\(.height) | \(.sessions) | \($p[0]) | \($p[2] | ltrimstr("r")) | \($load) | " +
			"\(.fps * 10 | round / 10) (\(.fps_min * 10 | round / 10)) | " +
			"\(.pose_to_frame_ms.p50 * 10 | round / 10) / \(.pose_to_frame_ms.p95 * 10 | round / 10) / \(.pose_to_frame_ms.p99 * 10 | round / 10) | " +
			"\($s.pose_age.p50 * 10 | round / 10) | \($s.queue.p50 * 10 | round / 10) | " +
			"\($s.render.p50 * 10 | round / 10) / \($s.convert.p50 * 10 | round / 10) / \(($s.encode_wait.p50 // 0) * 10 | round / 10) / \($s.encode.p50 * 10 | round / 10) / \($s.send.p50 * 10 | round / 10) | " +
			"\(if $work > 0 then (.pose_to_frame_ms.p50 / $work * 100 | round / 100) else "-" end) | " +
			"\(.prediction_error_deg.p50 * 100 | round / 100) / \(.prediction_error_deg.mean * 100 | round / 100) | \(.bitrate_kbps | round) |"
		' "$f"
	done | sort -t"|" -k2,2 -k3,3n -k4,4 -k5,5n
}

if [[ -n $table_only ]]; then
	table "$table_only"
	exit 0
fi
(($# > 0)) || { sed -n '2,16p' "$0" >&2; exit 2; }
[[ -n $dir ]] || dir=$(mktemp -d -t latency-proof.XXXXXX)
mkdir -p "$dir"
for arg in "$@"; do
	[[ $arg == *=* && -x ${arg#*=} ]] || { echo "latency-proof: $arg is not LABEL=BINARY (an executable)" >&2; exit 2; }
done

for ((r = 1; r <= rounds; r++)); do
	for size in 1280x720 640x360; do
		for arg in "$@"; do
			label=${arg%%=*} bin=${arg#*=}
			out="$dir/${label}_${size}_r$r"
			cut -d' ' -f1-3 /proc/loadavg >"$out.load"
			echo "latency-proof: round $r, $size, $label (load $(cat "$out.load"))" >&2
			nice -n 10 "$bin" run --sessions 1,2,4 --duration "$duration" --warmup 2s \
				--width "${size%x*}" --height "${size#*x}" --fps 30 --quiet --json "$out.json" >/dev/null 2>"$out.log" ||
				{ echo "latency-proof: $label $size failed; see $out.log" >&2; exit 1; }
		done
	done
done
echo "latency-proof: results in $dir" >&2
table "$dir"
