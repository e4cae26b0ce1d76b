#!/usr/bin/env bash
# Prints the Dockerfile's --build-arg flags for the native library versions, read from the one place that
# sets the managed ones (Directory.Packages.props), so the image's native ONNX Runtime and OpenCvSharp
# match the managed APIs it runs:   docker build $(deploy-jetson/build-args.sh) -f deploy-jetson/Dockerfile .
set -euo pipefail
props="$(cd "$(dirname "$0")/.." && pwd)/Directory.Packages.props"
version() { sed -n "s/.*<PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" "$props"; }
echo "--build-arg ORT_VERSION=v$(version Microsoft.ML.OnnxRuntime) --build-arg OPENCVSHARP_VERSION=$(version OpenCvSharp4)"
