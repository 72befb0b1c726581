#!/usr/bin/env bash
# Set up everything the suite needs into the current Python environment.
#   - A torch + torchvision that already import are kept as they are.
#   - Otherwise torch/torchvision are pinned by constraints/cpu-machine.txt (no gigabytes of downloads
#     on a machine whose mirror holds those builds).
#   - Optional system data (Fashion-MNIST silhouettes for the built-in data) is installed with apt
#     when apt is usable; without it the built-in data falls back to synthetic shapes.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"   # "test" to add the test tools
target="."
[ -n "$extras" ] && target=".[$extras]"

if python -c "import torch, torchvision" >/dev/null 2>&1; then
    echo "setup: keeping the installed torch $(python -c 'import torch; print(torch.__version__)')"
    python -m pip install -q -e "$target"
else
    echo "setup: installing torch/torchvision with constraints/cpu-machine.txt"
    python -m pip install -q -c constraints/cpu-machine.txt -e "$target"
fi

if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
        || echo "setup: dataset-fashion-mnist not installed; the built-in data will use synthetic shapes"
fi
echo "setup: done"
