#!/usr/bin/env bash
# The main job: the order-processing demo over the 830 Northwind orders, on
# embedded Kafka (an in-process mock cluster) by default. Installs what it
# needs and builds first. Extra arguments go to orders-demo (see --help),
# e.g. scripts/demo.sh --brokers 127.0.0.1:9092 to use a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null 2>&1 ||
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >&2
exec build/workers/orders/app/orders-demo "$@"
