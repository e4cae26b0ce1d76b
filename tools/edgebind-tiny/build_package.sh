#!/usr/bin/env bash
# Train, evaluate, export and write the evaluation set of EdgeBind-tiny (one seeded run).
# Usage: tools/edgebind-tiny/build_package.sh [SEED]   (run from the repository root)
#        TRAIN=0 OUT=/tmp/run tools/edgebind-tiny/build_package.sh   packages a finished run without training
# Training wants an optimised BLAS: Debian's generic libblas is ~20x slower for torch's matmuls
# (apt-get install libopenblas0-pthread switches libblas.so.3 to OpenBLAS).
set -euo pipefail
SEED="${1:-0}"
OUT="${OUT:-/tmp/edgebind-tiny}"
PKG=models/edgebind-tiny
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "${TRAIN:-1}" != 0 ]; then
  # Both stages, then 1000 more stage-2 steps for depth alone: the emergent depth encoder learns slowest,
  # and the other encoders are done by then.
  /usr/bin/python3 tools/edgebind-tiny/train.py --seed "$SEED" --out "$OUT-base"
  /usr/bin/python3 tools/edgebind-tiny/train.py --seed "$SEED" --init "$OUT-base/edgebind_tiny.pt" --stage1-steps 0 \
    --stage2-steps 1000 --stage2-modalities depth --out "$OUT"
fi
/usr/bin/python3 tools/edgebind-tiny/evaluate.py --ckpt "$OUT/edgebind_tiny.pt" --out "$OUT/evaluation.json"
/usr/bin/python3 tools/export/export.py --preset edgebind-tiny --ckpt "$OUT/edgebind_tiny.pt" \
  --vocab "$OUT/bpe_edgebind_tiny.txt.gz" --evaluation "$OUT/evaluation_table.json" \
  --real-inputs "$OUT/real_inputs.npz" --out "$PKG" ${EXPORT_FLAGS:-}
/usr/bin/python3 tools/edgebind-tiny/make_eval_set.py --ckpt "$OUT/edgebind_tiny.pt" \
  --vocab "$PKG/bpe_edgebind_tiny.txt.gz" --out "$PKG-eval"
/usr/bin/python3 tools/export/check_package.py "$PKG" --eval
/usr/bin/python3 tools/edgebind-tiny/write_model_card.py --run "$OUT" --pkg "$PKG" --report tools/edgebind-tiny/REPORT.md
cp "$OUT/train_log.json" tools/edgebind-tiny/train_log.json
