#!/usr/bin/python3
"""Writes a tiny open-vocabulary detector in ONNX for EdgeBind's tests.

Contract (the one OnnxOpenVocabularyDetector runs):
  inputs  image            float32 [1,3,64,64]  RGB in [0,1]
          class_embeddings float32 [K,8]        one unit row per class (K dynamic)
  outputs boxes            float32 [M,4]        x1,y1,x2,y2 in input pixels (M = 20 fixed anchors)
          scores           float32 [M,K]        sigmoid(10 * cosine(region feature, class))

Each anchor's feature is its mean colour minus 0.5, projected by a fixed 3x8 matrix and normalised,
so a class embedding made the same way from a colour finds the box filled with that colour. The
script also writes <out>.classes.json with such embeddings for red, green, blue and grey.

Usage: /usr/bin/python3 tools/testmodels/make_detector.py tests/EdgeBind.Matching.Tests/testdata/detector.onnx [DIM]

DIM (default 8) sets the class embedding width: 256 makes one that accepts EdgeBind-tiny's query embeddings.
It still only knows colours, so `edgebind bench detection --method detector` with it measures the external
detector path (contract, scaling, thresholds) and a chance-level baseline, not a real open-vocabulary detector.
"""
import json
import sys

import torch
import torch.nn.functional as F

SIZE = 64
DIM = 8


def anchors():
    boxes = []
    for cell in (16, 32):
        for y in range(0, SIZE, cell):
            for x in range(0, SIZE, cell):
                boxes.append([x, y, x + cell, y + cell])
    return torch.tensor(boxes, dtype=torch.float32)


class Detector(torch.nn.Module):
    def __init__(self, dim=DIM):
        super().__init__()
        generator = torch.Generator().manual_seed(7)
        self.register_buffer("projection", torch.randn(3, dim, generator=generator))
        self.register_buffer("anchors", anchors())

    def features(self, image):
        small = F.avg_pool2d(image, 16).flatten(2).transpose(1, 2)[0]  # [16,3] from 16x16 cells
        large = F.avg_pool2d(image, 32).flatten(2).transpose(1, 2)[0]  # [4,3] from 32x32 cells
        colours = torch.cat([small, large], 0) - 0.5
        return F.normalize(colours @ self.projection, dim=1)

    def forward(self, image, class_embeddings):
        feats = self.features(image)
        classes = F.normalize(class_embeddings, dim=1)
        scores = torch.sigmoid(10.0 * feats @ classes.t())
        # Tie the constant boxes to the input so the exporter keeps them a graph output.
        boxes = self.anchors + 0.0 * image.sum()
        return boxes, scores


def colour_embedding(model, rgb):
    image = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1).expand(1, 3, SIZE, SIZE)
    return model.features(image)[0].tolist()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "detector.onnx"
    dim = int(sys.argv[2]) if len(sys.argv) > 2 else DIM
    model = Detector(dim).eval()
    image = torch.rand(1, 3, SIZE, SIZE)
    classes = torch.randn(3, dim)
    torch.onnx.export(
        model, (image, classes), out,
        input_names=["image", "class_embeddings"], output_names=["boxes", "scores"],
        dynamic_axes={"class_embeddings": {0: "K"}, "scores": {1: "K"}},
        opset_version=13)
    colours = {"red": [1, 0, 0], "green": [0, 1, 0], "blue": [0, 0, 1], "grey": [0.5, 0.5, 0.55]}
    with open(out + ".classes.json", "w") as f:
        json.dump({name: colour_embedding(model, rgb) for name, rgb in colours.items()}, f, indent=1)


if __name__ == "__main__":
    main()
