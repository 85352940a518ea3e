#!/usr/bin/env bash
# The GPU check of the WGSL forecaster on a Linux machine with an NVIDIA GPU (the lent device machine: no network,
# no Node, no npm; see /work/.library/device/README.md): the engine tests on the hardware adapter, then throughput
# beside PyTorch + cuDNN at B 256 and B 4096, T 48, in one table. Two steps:
#
#   bench/device-check.sh prepare          here (network, Node, the built tree): packs .device/ — Node, dist/, the
#                                          runtime npm packages, the fixtures, the Vulkan/EGL loader packages
#   bench/device-check.sh run [--dry-run]  there, from the repository root, with .device carried; under 8 minutes.
#                                          --dry-run: print what would run and check the pack, run nothing
#
# The device tool call: command `bash bench/device-check.sh run`, carry [".device"], timeout_s 540.
# It stops with a clear message (exit 3) when no NVIDIA adapter is found: a software fallback is not measured.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PACK=.device
BATCHES=(256 4096)
T=48

die() { echo "device-check: $1" >&2; exit "${2:-1}"; }
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

prepare() {
  command -v node >/dev/null || die "prepare needs node"
  local exclude; exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >> "$exclude"
  rm -rf "$PACK" && mkdir -p "$PACK"
  step "build"
  npx tsc -p . >/dev/null
  step "pack Node $(node --version), dist/, runtime packages"
  xz -T0 -6 -c "$(command -v node)" > "$PACK/node.xz"
  # the engine, its tests and the bench need only these at run time (webgpu: the linux-x64 Dawn build alone; build/:
  # the WebAssembly modules, where built)
  local parts=(dist shaders package.json node_modules/webgpu)
  [ -d build ] && parts+=(build)
  tar -cf - --exclude='dist/darwin-*' --exclude='dist/win32-*' --exclude='dist/linux-arm64' -C . "${parts[@]}" \
    | xz -T0 -6 > "$PACK/tree.tar.xz"
  step "pack the fixtures (f32 runs)"
  local shared=${DPM_SHARED:-../shared}
  [ -f "$shared/fixtures/manifest.json" ] || die "no fixtures at $shared/fixtures (set DPM_SHARED)"
  tar -cf - -C "$shared" fixtures/manifest.json fixtures/small/input.json fixtures/small/params_init.json \
    fixtures/small/f32 fixtures/full/input.json fixtures/full/params_init.json fixtures/full/f32 | xz -T0 -6 > "$PACK/fixtures.tar.xz"
  step "download the Vulkan and EGL loaders (amd64 .debs, unpacked there)"
  mkdir -p "$PACK/debs" /tmp/amd64/partial
  local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update -qq
  (cd "$PACK/debs" && apt-get "${o[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgles2)
  du -sh "$PACK"
  local kib; kib=$(du -sk "$PACK" | cut -f1)
  [ "$kib" -lt 60000 ] || die "the pack is $((kib / 1024)) MiB: over the device tool's 64 MiB with the tree"
  echo "ready: run the device tool with command 'bash bench/device-check.sh run', carry [\".device\"], timeout_s 540"
}

run() {
  local dry=${1:-}
  [ "$(uname -m)" = x86_64 ] || die "the pack holds x86-64 builds; this machine is $(uname -m)"
  for f in node.xz tree.tar.xz fixtures.tar.xz; do
    [ -f "$PACK/$f" ] || die "$PACK/$f missing: run 'bench/device-check.sh prepare' here first and carry .device"
  done
  ls "$PACK"/debs/*.deb >/dev/null 2>&1 || die "$PACK/debs holds no loader packages: run prepare again"
  local work=/tmp/dpm-device-check
  local out=${OUT:-$work/out}
  if [ "$dry" = --dry-run ]; then
    echo "dry run: the pack is complete; would unpack into $work, unpack $(ls "$PACK"/debs | tr '\n' ' ')into / where the loaders are missing,"
    echo "check for an NVIDIA Vulkan adapter (gpuInfo, device hardware, backend vulkan),"
    echo "run test/gpu-engine + gpu-plans on it (timeout 240 s), then for B in ${BATCHES[*]}, T $T:"
    echo "  node dist/bench/forecaster.bench.js --batch B --steps $T --device hardware --no-torch (timeout 120 s)"
    echo "  python3 bench/torch_gru.py --device cuda --batch B --steps $T (timeout 90 s)"
    echo "and print one table (also written to $out/device-check.txt)"
    return 0
  fi
  step "unpack"
  rm -rf "$work" && mkdir -p "$work/bin" "$out"
  xz -dc "$PACK/node.xz" > "$work/bin/node" && chmod +x "$work/bin/node"
  xz -dc "$PACK/tree.tar.xz" | tar -xf - -C "$work"
  xz -dc "$PACK/fixtures.tar.xz" | tar -xf - -C "$work"
  cp -r bench "$work/" # this checkout's scripts (torch_gru.py)
  # the loaders, only where the machine lacks them (unpacking over installed libraries could mix versions)
  if ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libEGL.so.1 '; then
    for f in "$PACK"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  export PATH="$work/bin:$PATH" DPM_SHARED="$work"
  # the driver's ICD and EGL vendor files, where the loaders do not find them by themselves
  local nv=/usr/local/nvidia/share
  [ -f "$nv/vulkan/icd.d/nvidia_icd.json" ] && export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$nv/vulkan/icd.d/nvidia_icd.json}
  [ -f "$nv/glvnd/egl_vendor.d/10_nvidia.json" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-$nv/glvnd/egl_vendor.d/10_nvidia.json}
  cd "$work"

  step "adapter"
  local info
  # (host/gpu/info.js alone: the CLI would load packages the pack leaves out)
  info=$(timeout 60 node --input-type=module -e "const { gpuInfo } = await import('./dist/host/gpu/info.js');
    console.log(JSON.stringify({ type: 'result', outputs: await gpuInfo({ device: 'hardware', backend: 'vulkan' }) }));" \
    2>"$out/gpu-info.err" | tail -1) || true
  echo "$info"
  if ! grep -q '"type":"result"' <<<"$info" || ! grep -qi nvidia <<<"$info"; then
    cat "$out/gpu-info.err" >&2
    die "no NVIDIA adapter through Dawn's Vulkan backend (nvidia-smi: $(nvidia-smi -L 2>/dev/null | head -1 || true)); nothing measured" 3
  fi

  step "engine tests on the hardware adapter"
  timeout 240 node --test --test-timeout=200000 dist/test/gpu-engine.test.js dist/test/gpu-plans.test.js \
    > "$out/tests.log" 2>&1 && echo "engine tests: pass" || { tail -40 "$out/tests.log"; die "engine tests failed (log: $out/tests.log)"; }
  grep -E '^# (pass|fail|skipped)' "$out/tests.log" || true

  step "throughput"
  local rows=$out/rows.jsonl
  : > "$rows"
  for B in "${BATCHES[@]}"; do
    rm -rf bench/results
    timeout 120 node dist/bench/forecaster.bench.js --batch "$B" --steps "$T" --device hardware --no-torch \
      > "$out/bench-$B.txt" 2>&1 || { cat "$out/bench-$B.txt"; die "WGSL bench at B $B failed"; }
    python3 - "$B" bench/results/*.json >> "$rows" <<'EOF'
import json, sys
batch, files = int(sys.argv[1]), sys.argv[2:]
for f in files:
    d = json.load(open(f))
    for r in d.get('rows') or d.get('results') or []:
        if r.get('train_seq_steps_per_s') is None: continue
        print(json.dumps({'engine': r.get('engine', 'wgsl'), 'backend': r.get('backend', ''), 'plan': r.get('plan', ''),
          'batch': r.get('batch', batch), 'T': r.get('T', d.get('T')), 'train': r['train_seq_steps_per_s'],
          'forecast': r['forecast_seq_steps_per_s'], 'dispatches': r.get('dispatches_per_train_step')}))
EOF
    timeout 90 python3 bench/torch_gru.py --device cuda --batch "$B" --steps "$T" > "$out/torch-$B.json" 2>"$out/torch-$B.err" \
      || { cat "$out/torch-$B.err"; die "bench/torch_gru.py --device cuda failed at B $B"; }
    python3 - "$B" "$T" "$out/torch-$B.json" >> "$rows" <<'EOF'
import json, sys
j = json.loads(open(sys.argv[3]).read().strip().splitlines()[-1])
print(json.dumps({'engine': j.get('engine', 'pytorch'), 'backend': 'cuda', 'plan': '', 'batch': int(sys.argv[1]),
  'T': int(sys.argv[2]), 'train': j['train_seq_steps_per_s'], 'forecast': j['forecast_seq_steps_per_s'], 'dispatches': None}))
EOF
  done

  step "table"
  python3 - "$rows" <<'EOF' | tee "$out/device-check.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
head = ['engine', 'backend', 'plan', 'batch', 'T', 'train seq-steps/s', 'forecast seq-steps/s', 'dispatches/step', 'train vs torch']
torch = {r['batch']: r['train'] for r in rows if r['backend'] == 'cuda'}
body = [[r['engine'][:48], r['backend'], r['plan'], str(r['batch']), str(r['T']), f"{r['train']:,.0f}", f"{r['forecast']:,.0f}",
         '-' if r['dispatches'] is None else str(r['dispatches']),
         f"{r['train'] / torch[r['batch']]:.2f}x" if torch.get(r['batch']) else '-'] for r in rows]
w = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
for line in [head, ['-' * x for x in w], *body]:
    print('  '.join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(line)))
EOF
}

case "${1:-}" in
  prepare) prepare ;;
  run) run "${2:-}" ;;
  *) die "usage: bench/device-check.sh prepare | run [--dry-run]" 2 ;;
esac
