#!/usr/bin/python3
"""Train a tiny CNN on scikit-learn's bundled 8x8 digits and export it to ONNX.

Produces (all next to this script):
  digits.onnx                 FP32 model, opset 13, input `input` [batch,1,8,8] -> `logits` [batch,10]
  calibration/input.npy       float32 [300,1,8,8]  calibration samples (subset of the training part)
  validation/input.npy        float32 [400,1,8,8]  held-out validation samples (never trained on)
  validation/labels.npy       int64   [400]        labels of the validation samples
  README.md                   description, including the accuracy measured here

The .npy data files are named after the model's input (`input`) because the
PotPowerShell loader matches .npy files to model inputs by name.

Everything is deterministic (fixed seeds, single thread, deterministic torch
algorithms), so re-running gives byte-identical outputs on the same machine.

Run with Debian's system python (python3-torch, python3-sklearn, python3-onnx,
python3-numpy):
    /usr/bin/python3 samples/digits/train.py
"""

import inspect
import os
import random

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234
N_VALIDATION = 400      # held-out samples used only for measuring accuracy
N_CALIBRATION = 300     # samples drawn from the training part for INT8 calibration
EPOCHS = 40
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
OPSET = 13
MAX_IR_VERSION = 9      # Debian's python3-onnx 1.12 understands IR <= 8; consumers want <= 9

# Normalization applied to every sample, in this order:
#   x = pixel / 16            (raw digits pixels are integers 0..16 -> [0, 1])
#   x = (x - MEAN) / STD      (fixed constants -> [-1, 1])
MEAN = 0.5
STD = 0.5

# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
torch.set_num_threads(1)                 # avoids thread-count dependent float reductions
torch.use_deterministic_algorithms(True)


def load_data():
    """Return normalized images [N,1,8,8] float32 and labels [N] int64."""
    digits = load_digits()               # bundled with scikit-learn, no download
    x = digits.images.astype(np.float32) / 16.0
    x = (x - MEAN) / STD
    x = x.reshape(-1, 1, 8, 8).astype(np.float32)
    y = digits.target.astype(np.int64)
    return x, y


def split(x, y):
    """Deterministic split: 400 validation, the rest training; 300 of the
    training samples are also saved as calibration data."""
    perm = np.random.RandomState(SEED).permutation(len(x))
    val_idx = perm[:N_VALIDATION]
    train_idx = perm[N_VALIDATION:]
    calib_idx = train_idx[:N_CALIBRATION]  # calibration is a subset of training data
    return (x[train_idx], y[train_idx]), (x[calib_idx], y[calib_idx]), (x[val_idx], y[val_idx])


class DigitsNet(nn.Module):
    """Small CNN without BatchNorm, so all weights live in Conv/Gemm initializers.

    input [N,1,8,8]
      conv1 3x3 (1->16) + ReLU          [N,16,8,8]
      conv2 3x3 (16->32) + ReLU         [N,32,8,8]
      maxpool 2x2                       [N,32,4,4]  --+
      conv3 3x3 (32->32) + ReLU         [N,32,4,4]    |
      Add (residual) + ReLU             [N,32,4,4] <--+
      flatten                           [N,512]
      fc1 (512->64) + ReLU              [N,64]
      fc2 (64->10)                      [N,10] logits
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        p = F.max_pool2d(x, 2)
        x = F.relu(self.conv3(p))
        x = F.relu(x + p)                # residual Add
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train(model, x, y):
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    gen = torch.Generator().manual_seed(SEED)  # controls shuffling order
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), BATCH_SIZE):
            idx = order[i:i + BATCH_SIZE]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  train loss {total / len(xt):.4f}")


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 8, 8, dtype=torch.float32)
    kwargs = dict(
        export_params=True,                   # weights stored as initializers
        keep_initializers_as_inputs=False,    # ... and not listed as graph inputs
        opset_version=OPSET,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    # Newer torch defaults to the dynamo exporter; this sample uses the
    # TorchScript-based one. Torch 1.13 (Debian 12) has no `dynamo` argument.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    torch.onnx.export(model, dummy, path, **kwargs)

    # Post-checks: opset exactly 13 for the default domain, IR version small
    # enough for older ONNX consumers.
    m = onnx.load(path)
    if m.ir_version > MAX_IR_VERSION:
        m.ir_version = MAX_IR_VERSION
        onnx.save(m, path)
    onnx.checker.check_model(m)
    default_opsets = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
    assert default_opsets == [OPSET], default_opsets
    return m


def run_onnx_numpy(m, x):
    """Minimal NumPy interpreter for the few ops this graph uses (there is no
    onnxruntime in Debian's python), so the exported file itself is checked,
    not just the torch model it came from."""
    env = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in m.graph.initializer}
    env[m.graph.input[0].name] = x.astype(np.float32)
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] for i in node.input if i]
        if node.op_type == "Conv":
            w = ins[1]
            b = ins[2] if len(ins) > 2 else 0.0
            assert a.get("group", 1) == 1 and list(a.get("strides", [1, 1])) == [1, 1]
            assert list(a.get("dilations", [1, 1])) == [1, 1]
            p = a.get("pads", [0, 0, 0, 0])
            xp = np.pad(ins[0], ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
            kh, kw = w.shape[2:]
            oh, ow = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
            # im2col: [N, C*kh*kw, oh*ow]
            cols = np.stack([xp[:, :, i:i + oh, j:j + ow] for i in range(kh) for j in range(kw)], axis=2)
            cols = cols.reshape(xp.shape[0], -1, oh * ow)
            w2 = w.reshape(w.shape[0], w.shape[1], kh * kw).reshape(w.shape[0], -1)
            y = np.einsum("ok,nkp->nop", w2, cols).reshape(xp.shape[0], w.shape[0], oh, ow)
            out = y + np.reshape(b, (1, -1, 1, 1))
        elif node.op_type == "Relu":
            out = np.maximum(ins[0], 0)
        elif node.op_type == "Add":
            out = ins[0] + ins[1]
        elif node.op_type == "MaxPool":
            k, s = a["kernel_shape"], a.get("strides", a["kernel_shape"])
            assert list(k) == [2, 2] and list(s) == [2, 2] and not any(a.get("pads", [0]))
            n, c, h, w_ = ins[0].shape
            out = ins[0].reshape(n, c, h // 2, 2, w_ // 2, 2).max(axis=(3, 5))
        elif node.op_type == "Flatten":
            out = ins[0].reshape(ins[0].shape[0], -1)
        elif node.op_type == "Gemm":
            aa = ins[0].T if a.get("transA", 0) else ins[0]
            bb = ins[1].T if a.get("transB", 0) else ins[1]
            out = a.get("alpha", 1.0) * aa @ bb
            if len(ins) > 2:
                out = out + a.get("beta", 1.0) * ins[2]
        else:
            raise NotImplementedError(node.op_type)
        env[node.output[0]] = out.astype(np.float32)
    return env[m.graph.output[0].name]


def check_onnx(m, model, x_val, y_val):
    """Compare the exported ONNX graph (run with NumPy) against torch."""
    model.eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(x_val)).numpy()
    got = run_onnx_numpy(m, x_val)
    diff = float(np.abs(got - ref).max())
    acc = float((got.argmax(axis=1) == y_val).mean())
    print(f"ONNX graph (NumPy) vs torch: max |logit diff| = {diff:.3g}, ONNX top-1 = {acc:.4f}")
    assert diff < 1e-3 and (got.argmax(axis=1) == ref.argmax(axis=1)).all()
    return acc


def save_npy(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(arr))


def write_readme(path, acc, onnx_acc, m):
    ops = sorted({n.op_type for n in m.graph.node})
    text = f"""# digits sample

A small, real FP32 ONNX model plus calibration/validation data for trying
PotPowerShell's INT8 quantization end to end.

| file | what |
| --- | --- |
| `digits.onnx` | CNN classifier, opset {OPSET}, IR version {m.ir_version}; input `input` float32 [batch,1,8,8], output `logits` float32 [batch,10] |
| `calibration/input.npy` | float32 [{N_CALIBRATION},1,8,8], calibration samples (a subset of the training samples) |
| `validation/input.npy` | float32 [{N_VALIDATION},1,8,8], held-out validation samples (not trained on) |
| `validation/labels.npy` | int64 [{N_VALIDATION}], class labels (0..9) of the validation samples |
| `train.py` | the script that produced all of the above |

Data files are named after the model input (`input.npy`), which is how the
loader matches .npy files to model inputs.

## How it was produced

`train.py` loads scikit-learn's bundled `load_digits()` data set (1797 8x8
grayscale digits, pixel values 0..16), splits it deterministically
(seed {SEED}) into {N_VALIDATION} validation samples and {1797 - N_VALIDATION} training samples
(of which the first {N_CALIBRATION} are saved as calibration data), trains the CNN
for {EPOCHS} epochs with Adam on CPU, and exports it with `torch.onnx.export`
(opset {OPSET}, dynamic batch axis `batch`, constant folding on, weights as
initializers). No BatchNorm is used, so all weights are Conv/Gemm initializers.

Operators: {", ".join(ops)} (includes a residual `Add`).

Normalization (apply to any new input): `x = (pixel / 16 - {MEAN}) / {STD}`,
i.e. values in [-1, 1].

Validation top-1 accuracy measured with torch (FP32): **{acc * 100:.2f}%**
({round(acc * N_VALIDATION)}/{N_VALIDATION}). The exported ONNX graph, evaluated by the small NumPy
interpreter in `train.py` (no onnxruntime in Debian's python), gives
**{onnx_acc * 100:.2f}%** and the same predictions.

## Regenerate

    /usr/bin/python3 samples/digits/train.py

Uses Debian's packages `python3-torch python3-sklearn python3-onnx
python3-numpy`. The run is deterministic (fixed seeds, one thread,
deterministic algorithms).
"""
    with open(path, "w") as f:
        f.write(text)


def main():
    x, y = load_data()
    (x_tr, y_tr), (x_cal, _), (x_val, y_val) = split(x, y)
    print(f"train {len(x_tr)}, calibration {len(x_cal)}, validation {len(x_val)}")

    model = DigitsNet()
    train(model, x_tr, y_tr)
    acc = accuracy(model, x_val, y_val)
    print(f"validation top-1 accuracy (torch, FP32): {acc:.4f}")
    assert acc >= 0.95, "accuracy below 95%"

    onnx_path = os.path.join(HERE, "digits.onnx")
    m = export_onnx(model, onnx_path)
    print(f"exported {onnx_path}: opset {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, "
          f"IR version {m.ir_version}, ops {[n.op_type for n in m.graph.node]}")
    onnx_acc = check_onnx(m, model, x_val, y_val)

    save_npy(os.path.join(HERE, "calibration", "input.npy"), x_cal.astype(np.float32))
    save_npy(os.path.join(HERE, "validation", "input.npy"), x_val.astype(np.float32))
    save_npy(os.path.join(HERE, "validation", "labels.npy"), y_val.astype(np.int64))
    write_readme(os.path.join(HERE, "README.md"), acc, onnx_acc, m)
    print("done")


if __name__ == "__main__":
    main()
