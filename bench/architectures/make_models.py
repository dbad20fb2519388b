"""Architectures for bench/Sweep-Architectures.ps1, with seeded random weights (nothing is downloaded).

Usage: python3 make_models.py <folder> [name ...]. Writes <folder>/<name>/model.onnx with calibration/ and
validation/ folders of .npy arrays (random items, other seeds) or PNG images; a model whose validation data exists
(written last) is kept. Prints one line per model. Needs Debian's python3-torch, python3-torchvision and python3-onnx
(torch 1.13's TorchScript exporter).
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision.models as tv


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.LSTM(40, 64, 2, batch_first=True), nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


class Gru(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.GRU(40, 64, 1, batch_first=True, bidirectional=True), nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.rnn(x)[0].mean(1))


class Encoder(nn.Module):
    """Token ids -> embedding -> two transformer encoder layers (GELU) -> mean -> Linear."""
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(1000, 128)
        layer = nn.TransformerEncoderLayer(128, 4, 256, batch_first=True, activation='gelu')
        self.body, self.head = nn.TransformerEncoder(layer, 2), nn.Linear(128, 5)

    def forward(self, x):
        return self.head(self.body(self.embed(x)).mean(1))


class Audio(nn.Module):
    """Conv1d with stride, groups, GroupNorm, InstanceNorm, LeakyReLU and Sigmoid over a raw waveform."""
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(1, 16, 9, 4), nn.GroupNorm(4, 16), nn.ReLU(),
            nn.Conv1d(16, 32, 9, 4, groups=2), nn.InstanceNorm1d(32, affine=True), nn.LeakyReLU(0.1),
            nn.Conv1d(32, 32, 3, padding=1), nn.Sigmoid(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 8))

    def forward(self, x):
        return self.body(x)


class UNet(nn.Module):
    """Skip connection through Concat, ConvTranspose, bilinear Resize, PixelShuffle (DepthToSpace), strided Slice."""
    def __init__(self):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.down2 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.Hardswish())
        self.up, self.out, self.shuffle = nn.ConvTranspose2d(32, 16, 2, 2), nn.Conv2d(32, 2, 1), nn.PixelShuffle(2)
        self.resize, self.last = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False), nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        a = self.down1(x)
        o = self.out(torch.cat([a, self.up(self.down2(a))], 1))
        return self.last(self.shuffle(torch.cat([o, self.resize(o)[:, :, ::2, ::2]], 1))[:, :1, ::2, ::2])


class Attention(nn.Module):
    """LayerNorm, Einsum with a weight, and two MatMuls of activations around a Softmax, SiLU and ReduceMax."""
    def __init__(self):
        super().__init__()
        self.proj, self.norm, self.head = nn.Linear(48, 64), nn.LayerNorm(64), nn.Linear(64, 3)
        self.weight = nn.Parameter(torch.randn(64, 64) * 0.1)

    def forward(self, x):
        y = self.norm(self.proj(x))
        z = torch.einsum('bnd,de->bne', y, self.weight)
        a = torch.softmax(z @ y.transpose(1, 2) / 8, -1) @ y
        return self.head(nn.functional.silu(a + z).max(1).values)


class TwoInputs(nn.Module):
    """An image and a vector in, two outputs."""
    def __init__(self):
        super().__init__()
        self.image = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.vector, self.a, self.b = nn.Linear(6, 8), nn.Linear(16, 4), nn.Linear(8, 2)

    def forward(self, image, vector):
        f = torch.cat([self.image(image), torch.relu(self.vector(vector))], 1)
        return self.a(f), self.b(f[:, :8] * f[:, 8:])


class Uint8Image(nn.Module):
    """A uint8 NHWC image in, as mobile exports take it: Cast, scale and Transpose before the convolutions."""
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, 2), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(16, 4))

    def forward(self, x):
        return self.body((x.float() / 255.0).permute(0, 3, 1, 2))


class ControlFlow(nn.Module):
    """Scripted control flow: an If whose then branch holds a Linear."""
    def __init__(self):
        super().__init__()
        self.a, self.b, self.head = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        y = self.a(x)
        if bool(y.sum() > 0):
            y = self.b(y)
        else:
            y = torch.relu(y)
        return self.head(y)


class TiedWeights(nn.Module):
    """One Linear used twice (a weight shared by two Gemms) and an output head on a transposed table."""
    def __init__(self):
        super().__init__()
        self.linear, self.table = nn.Linear(16, 16), nn.Parameter(torch.randn(20, 16) * 0.3)

    def forward(self, x):
        return self.linear(torch.relu(self.linear(x))) @ self.table.t()


class BatchedWeight(nn.Module):
    """x [batch, 4, 5, 16] @ W [4, 16, 8]: a MatMul with a three-dimensional constant weight."""
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 16, 8) * 0.3)

    def forward(self, x):
        return torch.matmul(x, self.weight)


class GemmAlphaBeta(nn.Module):
    """A Gemm with transB, alpha 2 and beta 0.5."""
    def __init__(self):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.randn(10, 12) * 0.3), nn.Parameter(torch.randn(10))

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight.t(), beta=0.5, alpha=2.0)


class CausalLm(nn.Module):
    """A GPT-style decoder: token and position embeddings, two pre-norm blocks of causal self-attention (a float mask of
    -inf above the diagonal, as decoder exports add it) and a GELU MLP, a final LayerNorm and a head tied to the token
    embedding (MatMul with its transpose): logits per token."""
    def __init__(self):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(1000, 96), nn.Parameter(torch.randn(32, 96) * 0.02)
        self.blocks = nn.ModuleList(nn.ModuleDict({
            'ln1': nn.LayerNorm(96), 'attention': nn.MultiheadAttention(96, 4, batch_first=True),
            'ln2': nn.LayerNorm(96), 'mlp': nn.Sequential(nn.Linear(96, 384), nn.GELU(), nn.Linear(384, 96))}) for _ in range(2))
        self.norm = nn.LayerNorm(96)

    def forward(self, x):
        n = x.shape[1]
        mask = torch.triu(torch.full((n, n), float('-inf')), 1)
        h = self.tokens(x) + self.positions[:n]
        for b in self.blocks:
            y = b['ln1'](h)
            h = h + b['attention'](y, y, y, attn_mask=mask, need_weights=False)[0]
            h = h + b['mlp'](b['ln2'](h))
        return self.norm(h) @ self.tokens.weight.t()


class Vit(nn.Module):
    """A small vision transformer: 8 x 8 patches by a strided Conv, a class token concatenated in front, learned
    positions, two pre-norm encoder layers, LayerNorm and a head on the class token."""
    def __init__(self):
        super().__init__()
        self.patches, self.cls = nn.Conv2d(3, 64, 8, 8), nn.Parameter(torch.randn(1, 1, 64) * 0.02)
        self.positions = nn.Parameter(torch.randn(1, 17, 64) * 0.02)
        layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True, activation='gelu', norm_first=True)
        self.body, self.norm, self.head = nn.TransformerEncoder(layer, 2), nn.LayerNorm(64), nn.Linear(64, 10)

    def forward(self, x):
        p = self.patches(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls.expand(x.shape[0], -1, -1), p], 1) + self.positions
        return self.head(self.norm(self.body(h))[:, 0])


def conv3d():
    return nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 8, 3, stride=2, groups=2), nn.ReLU(),
                         nn.ConvTranspose3d(8, 4, 2, 2))


def grouped_deconvolution():
    return nn.Sequential(nn.Conv2d(4, 8, 3), nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1, groups=4),
                         nn.ReLU(), nn.ConvTranspose2d(8, 2, 4, stride=2, dilation=2))


class SegmentationOut(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)['out']


IMAGE = [('input', [3, 224, 224], 'float')]
# name: (model, inputs (name, item shape, kind), opset, options)
def contrib_block(path, opset):
    """Two transformer blocks as ONNX Runtime's transformer optimizer writes them (com.microsoft Attention with packed
    query, key and value weights, SkipLayerNormalization, FastGelu), built directly: torch does not export these ops."""
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(0)
    hidden, inner = 64, 256
    initializers, nodes, x = [], [], 'input'
    def weight(name, shape, scale=0.1, value=None):
        array = np.full(shape, value, np.float32) if value is not None else (rng.standard_normal(shape) * scale).astype(np.float32)
        initializers.append(numpy_helper.from_array(array, name))
        return name
    for b in range(2):
        p = f'block{b}_'
        nodes += [
            helper.make_node('Attention', [x, weight(p + 'qkv_w', [hidden, 3 * hidden]), weight(p + 'qkv_b', [3 * hidden], 0.02)], [p + 'att'],
                             domain='com.microsoft', num_heads=4, name=p + 'attention'),
            helper.make_node('MatMul', [p + 'att', weight(p + 'o_w', [hidden, hidden])], [p + 'o'], name=p + 'out_proj'),
            helper.make_node('SkipLayerNormalization', [p + 'o', x, weight(p + 'g1', [hidden], value=1.0), weight(p + 'b1', [hidden], value=0.0),
                             weight(p + 'o_b', [hidden], 0.02)], [p + 'ln1'], domain='com.microsoft', epsilon=1e-5, name=p + 'skip_ln1'),
            helper.make_node('MatMul', [p + 'ln1', weight(p + 'f1_w', [hidden, inner])], [p + 'f1'], name=p + 'ffn1'),
            helper.make_node('FastGelu', [p + 'f1', weight(p + 'f1_b', [inner], 0.02)], [p + 'gelu'], domain='com.microsoft', name=p + 'gelu'),
            helper.make_node('MatMul', [p + 'gelu', weight(p + 'f2_w', [inner, hidden])], [p + 'f2'], name=p + 'ffn2'),
            helper.make_node('SkipLayerNormalization', [p + 'f2', p + 'ln1', weight(p + 'g2', [hidden], value=1.0), weight(p + 'b2', [hidden], value=0.0),
                             weight(p + 'f2_b', [hidden], 0.02)], [p + 'out'], domain='com.microsoft', epsilon=1e-5, name=p + 'skip_ln2'),
        ]
        x = p + 'out'
    nodes.append(helper.make_node('Identity', [x], ['output'], name='output'))
    graph = helper.make_graph(nodes, 'contrib_ops', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['batch', 16, hidden])],
                              [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['batch', 16, hidden])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset), helper.make_opsetid('com.microsoft', 1)])
    model.ir_version = 8
    onnx.save(model, path)


MODELS = {
    'mobilenet_v2': (lambda: tv.mobilenet_v2(), IMAGE, 13, {}),
    'mobilenet_v2_opset11': (lambda: tv.mobilenet_v2(), IMAGE, 11, {}),
    'mobilenet_v2_external_data': (lambda: tv.mobilenet_v2(), IMAGE, 13, {'external': True}),
    'mobilenet_v3_small': (lambda: tv.mobilenet_v3_small(), IMAGE, 13, {}),
    'mobilenet_v3_small_fixed_batch': (lambda: tv.mobilenet_v3_small(), IMAGE, 13, {'fixed_batch': True}),
    'efficientnet_b0': (lambda: tv.efficientnet_b0(), IMAGE, 13, {}),
    'shufflenet_v2': (lambda: tv.shufflenet_v2_x0_5(), IMAGE, 13, {}),
    'squeezenet': (lambda: tv.squeezenet1_1(), IMAGE, 13, {}),
    'mnasnet': (lambda: tv.mnasnet0_5(), IMAGE, 13, {}),
    'regnet_y': (lambda: tv.regnet_y_400mf(), IMAGE, 13, {}),
    'densenet121': (lambda: tv.densenet121(), IMAGE, 13, {}),
    'convnext_tiny': (lambda: tv.convnext_tiny(), IMAGE, 17, {}),
    'swin_t': (lambda: tv.swin_t(), IMAGE, 17, {}),
    'lraspp': (lambda: SegmentationOut(tv.segmentation.lraspp_mobilenet_v3_large(weights_backbone=None)), [('input', [3, 256, 256], 'float')], 13, {}),
    # A dynamic height and width, calibrated and evaluated on PNG images of several sizes, left at their sizes.
    'lraspp_images_of_any_size': (lambda: SegmentationOut(tv.segmentation.lraspp_mobilenet_v3_large(weights_backbone=None)), [('input', [3, 256, 256], 'float')], 13, {'images': True}),
    'lstm': (Lstm, [('input', [20, 40], 'float')], 13, {}),
    'gru': (Gru, [('input', [20, 40], 'float')], 13, {}),
    'encoder': (Encoder, [('input', [16], 'ids')], 13, {}),
    'causal_lm': (CausalLm, [('input', [16], 'ids')], 14, {}),
    'vit': (Vit, [('input', [3, 32, 32], 'float')], 14, {}),
    'audio': (Audio, [('input', [1, 4000], 'float')], 13, {}),
    'unet': (UNet, [('input', [3, 64, 64], 'float')], 13, {}),
    'attention': (Attention, [('input', [10, 48], 'float')], 17, {}),
    'uint8_nhwc_input': (Uint8Image, [('input', [32, 32, 3], 'uint8')], 13, {}),
    'control_flow': (lambda: torch.jit.script(ControlFlow()), [('input', [8], 'float')], 13, {}),
    'tied_weights': (TiedWeights, [('input', [16], 'float')], 13, {}),
    'batched_weight': (BatchedWeight, [('input', [4, 5, 16], 'float')], 13, {}),
    'gemm_alpha_beta': (GemmAlphaBeta, [('input', [12], 'float')], 13, {}),
    'conv3d': (conv3d, [('input', [3, 6, 16, 16], 'float')], 13, {}),
    'grouped_deconvolution': (grouped_deconvolution, [('input', [4, 12, 12], 'float')], 13, {}),
    'contrib_ops': (None, [('input', [16, 64], 'float')], 17, {'onnx': contrib_block}),
    'two_inputs': (TwoInputs, [('image', [3, 32, 32], 'float'), ('vector', [6], 'float')], 13, {'outputs': ['a', 'b']}),
}


def items(inputs, count, seed):
    rng = np.random.default_rng(seed)
    def array(shape, kind):
        if kind == 'ids':
            return rng.integers(0, 1000, [count] + shape).astype(np.int64)
        if kind == 'uint8':
            return rng.integers(0, 256, [count] + shape).astype(np.uint8)
        return rng.standard_normal([count] + shape).astype(np.float32)
    return {name: array(shape, kind) for name, shape, kind in inputs}


def write_images(target, input_name):
    """40 PNG images of 6 sizes per folder; validation/<input>.npy is left out, so the folders read as images."""
    from PIL import Image
    for part, seed in (('calibration', 1), ('validation', 2)):
        os.makedirs(os.path.join(target, part), exist_ok=True)
        rng = np.random.default_rng(seed)
        for i in range(40):
            height, width = (96, 128, 160)[i % 3], (128, 96)[i % 2]
            pixels = rng.integers(0, 256, [height, width, 3]).astype(np.uint8)
            file = os.path.join(target, part, f'{i:02d}.png')
            Image.fromarray(pixels).save(file + '.tmp.png')
            os.replace(file + '.tmp.png', file)


def make(folder, name):
    make_model, inputs, opset, options = MODELS[name]
    target = os.path.join(folder, name)
    path = os.path.join(target, 'model.onnx')
    done = [os.path.join(target, 'validation', '39.png')] if options.get('images') else \
        [os.path.join(target, 'validation', i[0] + '.npy') for i in inputs]
    if all(os.path.exists(f) for f in done):
        print(name, '(made before)', flush=True)
        return
    os.makedirs(target, exist_ok=True)
    if options.get('onnx'):
        options['onnx'](path, opset)
    else:
        torch.manual_seed(0)
        model = make_model().eval()
        example = tuple(torch.from_numpy(a) for a in items(inputs, 1, 0).values())
        outputs = options.get('outputs', ['output'])
        axes = {} if options.get('fixed_batch') else {n: {0: 'batch'} for n in [i[0] for i in inputs] + outputs}
        if options.get('images'):
            axes = {n: {0: 'batch', 2: 'height', 3: 'width'} for n in [i[0] for i in inputs] + outputs}
        torch.onnx.export(model, example, path, input_names=[i[0] for i in inputs], output_names=outputs,
                          dynamic_axes=axes, opset_version=opset)
    if options.get('external'):
        onnx.save_model(onnx.load(path), path, save_as_external_data=True, location='model.onnx.data', size_threshold=1024)
    if options.get('images'):
        write_images(target, inputs[0][0])
        print(name, flush=True)
        return
    for part, seed in (('calibration', 1), ('validation', 2)):
        os.makedirs(os.path.join(target, part), exist_ok=True)
        for input_name, array in items(inputs, 100, seed).items():
            # Through a temporary name: a kill leaves no complete-looking file.
            file = os.path.join(target, part, input_name + '.npy')
            np.save(file + '.tmp.npy', array)
            os.replace(file + '.tmp.npy', file)
    print(name, flush=True)


if __name__ == '__main__':
    unknown = [n for n in sys.argv[2:] if n not in MODELS]
    if unknown:
        sys.exit(f"Unknown model {', '.join(unknown)}; the models are: {', '.join(MODELS)}.")
    for model_name in sys.argv[2:] or MODELS:
        make(sys.argv[1], model_name)
