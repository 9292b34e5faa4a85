#!/usr/bin/env bash
# The modelops closed loop on this machine, no cluster: train -> gate -> serve -> evaluate ->
# (the live data shifts) -> Degraded -> retrain -> the new version is validated and served.
# Takes about three minutes. Everything lands in $MODELOPS_DEMO_DIR (default .modelops/demo).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=python3
WORK=${MODELOPS_DEMO_DIR:-$ROOT/.modelops/demo}
PORT=${MODELOPS_DEMO_PORT:-8501}
STATE=$WORK/state
STATE_RECORD=$STATE/default/churn/state.json  # {"status": ..., "pending": [...]}, written atomically
ENDPOINT=http://127.0.0.1:$PORT/v1/models/churn
START=$(date +%s)

say() { printf '\n\033[1m==> [%3ss] %s\033[0m\n' "$(( $(date +%s) - START ))" "$*"; }

# wait_for <description> <python condition on `s` (status dict)> [timeout seconds]
wait_for() {
  "$PY" - "$STATE_RECORD" "$2" "${3:-300}" "$RUN_PID" <<'PYEOF' || { echo "demo: timed out waiting for: $1" >&2; return 1; }
import json, os, sys, time
path, condition, timeout, pid = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("demo: `modelops run` exited early")
    try:
        s = json.load(open(path))["status"]
    except (OSError, ValueError, KeyError, TypeError):
        s = {}
    if s and eval(condition, {}, {"s": s, "ev": s.get("lastEvaluation") or {}}):
        sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
PYEOF
}

predict() {
  "$PY" - "$ENDPOINT" <<'PYEOF'
import json, sys, urllib.request
row = dict(zip([f"f{i}" for i in range(8)], [0.5, -1.0, 0.2, 1.1, -0.3, 0.8, 0.0, -0.6]))  # one input per column
body = json.dumps({"instances": [row]}).encode()
request = urllib.request.Request(sys.argv[1] + ":predict", body, {"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as response:
    print(f"POST {sys.argv[1]}:predict -> {response.status} {response.read().decode().strip()}")
PYEOF
}

say "preparing $WORK (example: examples/churn)"
rm -rf "$WORK"
mkdir -p "$WORK/churn"
cp "$ROOT/examples/churn/modeldeployment.yaml" "$ROOT/examples/churn/generate_data.py" "$WORK/churn/"
"$PY" "$WORK/churn/generate_data.py"

say "modelops run -f $WORK/churn/modeldeployment.yaml --state-dir $STATE --port $PORT"
"$PY" -m modelops run -f "$WORK/churn/modeldeployment.yaml" --state-dir "$STATE" --port "$PORT" --plain &
RUN_PID=$!
trap 'kill -INT $RUN_PID 2>/dev/null || true; wait $RUN_PID 2>/dev/null || true' EXIT

wait_for "version 1 serving and evaluated" \
  's.get("phase") == "Serving" and s.get("servingVersion") == 1 and ev.get("version") == 1 and not ev.get("degraded")' \
  || exit 1
say "version 1 serves and its first evaluation is healthy; a prediction:"
predict

say "the world changes: live, recent and validation data shift by 2 standard deviations"
"$PY" "$WORK/churn/generate_data.py" --shift 2

wait_for "degradation detected" 's.get("phase") in ("Degraded", "Retraining") or ev.get("degraded")' || exit 1
say "evaluation found degradation: $("$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["status"].get("lastEvaluation",{}); print("; ".join(e.get("reasons") or []))' "$STATE_RECORD")"

wait_for "retrained version serving" 's.get("phase") == "Serving" and (s.get("servingVersion") or 0) > 1' || exit 1
say "retrained version $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["servingVersion"])' "$STATE_RECORD") passed its gates and serves; a prediction:"
predict

wait_for "retrained version evaluated" \
  'ev.get("version") == s.get("servingVersion") and not ev.get("degraded")' 120 || true
kill -INT "$RUN_PID"
wait "$RUN_PID" || true
trap - EXIT

say "final status"
"$PY" -m modelops status churn --state-dir "$STATE" --plot "$WORK/metrics.png"
say "done in $(( $(date +%s) - START ))s. Look at:"
cat <<TXT
  status:    $PY -m modelops status churn --state-dir $STATE   (add -o yaml for everything)
  plot:      $WORK/metrics.png
  events:    $STATE/default/churn/events.jsonl
  stage logs $STATE/default/churn/stages/<stage>/log.txt
  endpoint:  $ENDPOINT:predict  (serving again after: $PY -m modelops run -f $WORK/churn/modeldeployment.yaml --state-dir $STATE --port $PORT)
TXT
