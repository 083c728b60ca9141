#!/usr/bin/env bash
# The first GPU run, in one command (7.5 minutes at most on one H100: each step has a time limit):
#
#     bash benchmarks/gpu_check.sh            # from the repository root, on a machine with one CUDA GPU
#
# 1. the versions and the device (what the kernels were compiled with, for the README);
# 2. the kernel tests on CUDA, side by side (200 s at most): with a GPU present they run the real Triton
#    kernels (no interpreter) against eager, the CUDA-graph capture, the > 2^31-element and 65,536 batch x
#    heads launches, a GsiT training step, the dispatch boundary (tests/kernels/test_triton*.py but the compile
#    check, which needs no GPU);
# 3. benchmarks/attention.py --device cuda (230 s at most): eager vs sdpa vs triton vs flex_attention at the models' shapes,
#    bf16 and fp32, forward and forward+backward, with the TFLOP/s and TB/s each reaches as a share of the
#    device's measured copy bandwidth and bf16 matmul rate;
# then writes all of it into benchmarks/RESULTS.md (section "GPU: first run"), replacing that section's
# previous table. Logs go to $GPU_CHECK_LOGS (default: a new temporary folder, printed first).
set -uo pipefail
case "${1:-}" in -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
cd "$(dirname "$0")/.."
logs=${GPU_CHECK_LOGS:-$(mktemp -d -t gpu-check-XXXX)}
mkdir -p "$logs"
echo "logs: $logs"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU visible')" || exit 1

{
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  python - <<'EOF'
import torch, triton
print(f"- torch {torch.__version__} (CUDA {torch.version.cuda}), triton {triton.__version__}")
print(f"- capability {torch.cuda.get_device_capability()}, shared memory per block (opt-in) "
      f"{torch.cuda.get_device_properties(0).shared_memory_per_block_optin} B")
EOF
} > "$logs/versions.md"
cat "$logs/versions.md"

# The test files run side by side (Triton compiles on the CPU, and this machine has cores to spare).
start=$(date +%s)
pids=()
# (tests/kernels/test_models.py stays out: its tiny models run on the CPU, in the interpreter only.)
for file in tests/kernels/test_triton.py tests/kernels/test_triton_precision.py tests/kernels/test_triton_dropout.py \
    tests/kernels/test_triton_launch.py tests/kernels/test_triton_dispatch.py; do
  name=$(basename "$file" .py)
  timeout 200 python -m pytest -q -p no:cacheprovider -rs "$file" > "$logs/$name.log" 2>&1 &
  pids+=($!)
done
tests_status=0
for pid in "${pids[@]}"; do wait "$pid" || tests_status=1; done
for log in "$logs"/test_*.log; do echo "$(basename "$log" .log): $(tail -1 "$log")"; done | tee "$logs/tests.log"
echo "tests: exit $tests_status after $(( $(date +%s) - start )) s"

# The models' shapes: MOSI GsiT (cross-modal d 32, self pass d 64) and Graph4MM subgraphs (N 32, N 128 at K 8).
start=$(date +%s)
timeout 230 python benchmarks/attention.py --device cuda --ceilings --repeats 5 --dtypes bfloat16 float32 \
  --modes fwd fwd+bwd --backends eager sdpa triton flex_attention \
  --shapes "MOSI forward B=32" "MOSI self B=32" "N=32" "N=128 K=8" 2>&1 | grep -v "^USDT" | tee "$logs/attention.md"
bench_status=${PIPESTATUS[0]}
echo "attention: exit $bench_status after $(( $(date +%s) - start )) s"

python - "$tests_status" "$bench_status" "$logs" <<'EOF'
import re, subprocess, sys
from pathlib import Path

tests_status, bench_status = sys.argv[1:3]
logs = Path(sys.argv[3])
tests = (logs / "tests.log").read_text().strip().splitlines()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
section = "\n".join([
    "## GPU: first run (`benchmarks/gpu_check.sh`)",
    "",
    f"Recorded by `bash benchmarks/gpu_check.sh` at commit {commit}:",
    "",
    (logs / "versions.md").read_text().rstrip(),
    f"- CUDA tests (exit {tests_status}):",
    *[f"  - {line}" for line in tests],
    f"- attention table (exit {bench_status}), `benchmarks/attention.py --device cuda --ceilings --dtypes bfloat16 "
    'float32 --modes fwd fwd+bwd --shapes "MOSI forward B=32" "MOSI self B=32" "N=32" "N=128 K=8"`:',
    "",
    (logs / "attention.md").read_text().rstrip(),
    "",
])
results = Path("benchmarks/RESULTS.md")
text = results.read_text()
pattern = re.compile(r"## GPU: first run \(`benchmarks/gpu_check.sh`\).*?(?=\n## |\Z)", re.S)
text = pattern.sub(lambda _: section.rstrip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
results.write_text(text)
print("benchmarks/RESULTS.md: section 'GPU: first run' written")
EOF
exit $(( tests_status != 0 || bench_status != 0 ))
