#!/usr/bin/python3
"""Make the shapes sample: a tiny YOLOv8-style detector of squares, circles and triangles on noise.

Produces (all next to this script):
  shapes.onnx                     FP32 model, opset 13: input `image` [batch,1,32,32] (grey, pixel / 255) ->
                                  `output0` [batch,7,64]: per grid cell (8x8, stride 4) centre x, centre y, width,
                                  height in input pixels and the scores of the 3 classes (YOLOv8's export layout)
  validation/images/*.png         200 grey 32x32 images (never trained on)
  validation/instances.json       their objects, COCO detection format (categories square, circle, triangle)
  calibration/image.npy           float32 [64,1,32,32], calibration images (pixel / 255), drawn like the training ones

Training images are drawn on the fly with another seed and never saved. Deterministic: fixed seeds, one thread.
Only to MAKE these files; nothing at test time needs Python. Run with Debian's python3-torch, python3-onnx,
python3-numpy, python3-pil:
    /usr/bin/python3 samples/shapes/make_shapes.py
"""

import json
import os
import random

import numpy as np
import onnx
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, STRIDE, CLASSES = 32, 4, 3
GRID = SIZE // STRIDE
NAMES = ["square", "circle", "triangle"]
N_TRAIN, N_VALIDATION, N_CALIBRATION = 3000, 200, 64
EPOCHS, BATCH = 10, 64

torch.manual_seed(1)
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def draw(rng):
    """One image: noise 0..150, then 1 to 4 shapes of 5..14 pixels, grey 120..255, not overlapping, centres in distinct cells."""
    pixels = rng.integers(0, 151, size=(SIZE, SIZE)).astype(np.uint8)
    objects, cells = [], set()
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for _ in range(int(rng.integers(1, 5))):
        for _attempt in range(20):
            s = int(rng.integers(5, 15))
            x, y = int(rng.integers(0, SIZE - s + 1)), int(rng.integers(0, SIZE - s + 1))
            cell = ((x + s / 2) // STRIDE, (y + s / 2) // STRIDE)
            if cell in cells or any(x < ox + ow + 1 and ox < x + s + 1 and y < oy + oh + 1 and oy < y + s + 1 for _, ox, oy, ow, oh in objects):
                continue
            label = int(rng.integers(0, CLASSES))
            grey = int(rng.integers(120, 256))
            if label == 0:
                mask = (xx >= x) & (xx < x + s) & (yy >= y) & (yy < y + s)
            elif label == 1:
                r = s / 2
                mask = (xx + 0.5 - x - r) ** 2 + (yy + 0.5 - y - r) ** 2 <= r * r
            else:
                # Apex at the top centre, base at the bottom: |x - centre| <= half width at that height.
                mask = (yy >= y) & (yy < y + s) & (np.abs(xx + 0.5 - x - s / 2) <= (yy + 1 - y) / 2)
            pixels[mask] = grey
            objects.append((label, x, y, s, s))
            cells.add(cell)
            break
    return pixels, objects


def targets(objects):
    """Per cell: objectness-free class targets [3] and box targets (offsets in cells, size / SIZE) with a mask."""
    cls = np.zeros((CLASSES, GRID, GRID), np.float32)
    box = np.zeros((4, GRID, GRID), np.float32)
    mask = np.zeros((GRID, GRID), np.float32)
    for label, x, y, w, h in objects:
        cx, cy = x + w / 2, y + h / 2
        gx, gy = int(cx // STRIDE), int(cy // STRIDE)
        cls[label, gy, gx] = 1
        box[:, gy, gx] = [cx / STRIDE - gx, cy / STRIDE - gy, w / SIZE, h / SIZE]
        mask[gy, gx] = 1
    return cls, box, mask


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 48, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(48, 48, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Conv2d(48, 4 + CLASSES, 1)
        gy, gx = torch.meshgrid(torch.arange(GRID, dtype=torch.float32), torch.arange(GRID, dtype=torch.float32), indexing="ij")
        self.register_buffer("grid", torch.stack([gx, gy]).reshape(1, 2, GRID * GRID))

    def raw(self, x):
        return self.head(self.body(x))

    def forward(self, x):
        # YOLOv8's export layout: [batch, 4 + classes, cells], boxes as centre and size in input pixels.
        r = self.raw(x).flatten(2)
        centre = (torch.sigmoid(r[:, 0:2]) * 1.5 - 0.25 + self.grid) * STRIDE
        size = torch.sigmoid(r[:, 2:4]) * SIZE
        return torch.cat([centre, size, torch.sigmoid(r[:, 4:])], 1)


def batch_of(images):
    return torch.from_numpy(np.stack(images)[:, None].astype(np.float32) / 255)


def train():
    rng = np.random.default_rng(7)
    data = [draw(rng) for _ in range(N_TRAIN)]
    images = batch_of([d[0] for d in data])
    cls, box, mask = (torch.from_numpy(np.stack(t)) for t in zip(*(targets(d[1]) for d in data)))
    model = Detector()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(3)
    for epoch in range(EPOCHS):
        perm = torch.randperm(N_TRAIN, generator=order)
        total = 0.0
        for i in range(0, N_TRAIN, BATCH):
            idx = perm[i:i + BATCH]
            r = model.raw(images[idx])
            m = mask[idx]
            loss_cls = nn.functional.binary_cross_entropy_with_logits(r[:, 4:], cls[idx])
            centre = torch.sigmoid(r[:, 0:2]) * 1.5 - 0.25
            size = torch.sigmoid(r[:, 2:4])
            loss_box = (((centre - box[idx][:, 0:2]).abs().sum(1) + 4 * (size - box[idx][:, 2:4]).abs().sum(1)) * m).sum() / m.sum().clamp(min=1)
            loss = 20 * loss_cls + loss_box
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print(f"epoch {epoch + 1}: loss {total / N_TRAIN:.4f}", flush=True)
    return model


def main():
    model = train().eval()
    rng = np.random.default_rng(2024)
    folder = os.path.join(HERE, "validation", "images")
    os.makedirs(folder, exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [{"id": i + 1, "name": n} for i, n in enumerate(NAMES)]}
    for i in range(N_VALIDATION):
        pixels, objects = draw(rng)
        name = f"shapes_{i:03d}.png"
        Image.fromarray(pixels, mode="L").save(os.path.join(folder, name), optimize=True)
        coco["images"].append({"id": i + 1, "file_name": name, "width": SIZE, "height": SIZE})
        for label, x, y, w, h in objects:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": i + 1, "category_id": label + 1,
                                        "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    with open(os.path.join(HERE, "validation", "instances.json"), "w") as f:
        json.dump(coco, f, separators=(",", ":"))
    rng = np.random.default_rng(99)
    os.makedirs(os.path.join(HERE, "calibration"), exist_ok=True)
    np.save(os.path.join(HERE, "calibration", "image.npy"), batch_of([draw(rng)[0] for _ in range(N_CALIBRATION)]).numpy())
    path = os.path.join(HERE, "shapes.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, SIZE, SIZE), path, opset_version=13, input_names=["image"], output_names=["output0"],
                      dynamic_axes={"image": {0: "batch"}, "output0": {0: "batch"}}, do_constant_folding=True)
    m = onnx.load(path)
    m.ir_version = min(m.ir_version, 8)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    print("saved", path)


if __name__ == "__main__":
    main()
