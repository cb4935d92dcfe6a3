#!/usr/bin/env python3
"""Makes the PyTorch reference fixtures that Tests/BackpropTests/ReferenceTests.swift
checks the library against.

For each module, PyTorch builds it with fixed, seeded weights, runs it on a fixed input,
and back-propagates a fixed random output gradient. Everything is written, in float32
and in float64, to Tests/BackpropTests/Reference/Fixtures/<case>.<f32|f64>.safetensors:

    layers     input, param.<name>, output, grad_output, grad_input, grad.<name>
               (parameter names are PyTorch's: weight, bias, 0.weight, weight_ih_l0, ...)
               and, for modules with buffers (batch norm), buffer.<name> before the step
               and buffer_after.<name> after it (running_mean, running_var, and
               num_batches_tracked as I64), plus the metadata "state_dict": the module's
               state_dict names and dtypes
    criteria   input, target, output (the loss, shape []), grad_input (d loss / d input)
    optim      (group "optim") torch.optim's first 5 steps on fixed parameters and
               gradients, the rates of torch.optim.lr_scheduler, torch.renorm: see the
               comment above optimizer_case below

and the metadata says which module and settings made it ("module", "kind", "config...").
The values are drawn in float64 and rounded once for float32, and each precision is
computed by PyTorch in that precision. The fixtures are committed: tests do not need
PyTorch. To make them again:

    apt-get install python3-torch            # Debian / Ubuntu (or: pip install torch)
    /usr/bin/python3 Scripts/make-reference-fixtures.py
    /usr/bin/python3 Scripts/make-reference-fixtures.py --include vision,rnn   # also those
    /usr/bin/python3 Scripts/make-reference-fixtures.py --include optim --only ...  # optimizers
    /usr/bin/python3 Scripts/make-reference-fixtures.py --only linear,mlp --list

Adding a module is one function here (decorated with @layer or @criterion: build the
torch module and its input from the generator `g`) and one test line in Swift.
"""
import argparse
import os
import sys
import zlib

import torch
import torch.nn as nn

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "Tests", "BackpropTests", "Reference", "Fixtures")

CASES = {}  # name -> (group, kind, builder)


def layer(name, group="core"):
    """Registers a layer case: builder(g) -> (module, input[, config]) in float64."""
    def register(builder):
        CASES[name] = (group, "layer", builder)
        return builder
    return register


def criterion(name, group="core"):
    """Registers a criterion case: builder(g) -> (loss module, input, target, config)."""
    def register(builder):
        CASES[name] = (group, "criterion", builder)
        return builder
    return register


def randn(g, *shape, scale=1.0):
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


# ---------------------------------------------------------------------------------------
# core: dense layers, activations, the softmax family, containers
# ---------------------------------------------------------------------------------------

@layer("linear")
def _(g):
    return nn.Linear(5, 4), randn(g, 3, 5)


@layer("linear_nobias")
def _(g):
    return nn.Linear(5, 4, bias=False), randn(g, 3, 5)


@layer("linear_sequence")  # [T, N, in]: Linear applies to the last axis
def _(g):
    return nn.Linear(4, 3), randn(g, 2, 3, 4)


@layer("sigmoid")
def _(g):
    return nn.Sigmoid(), randn(g, 3, 5, scale=2)


@layer("tanh")
def _(g):
    return nn.Tanh(), randn(g, 3, 5, scale=2)


@layer("relu")
def _(g):
    return nn.ReLU(), randn(g, 3, 5)


@layer("leaky_relu")
def _(g):
    return nn.LeakyReLU(0.2), randn(g, 3, 5), {"negative_slope": "0.2"}


@layer("softplus")
def _(g):
    return nn.Softplus(), randn(g, 3, 5, scale=3)


@layer("softmax")
def _(g):
    return nn.Softmax(dim=-1), randn(g, 2, 3, 4, scale=2), {"dim": "-1"}


@layer("log_softmax")
def _(g):
    return nn.LogSoftmax(dim=-1), randn(g, 2, 3, 4, scale=2), {"dim": "-1"}


@layer("mlp")
def _(g):
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(),
                          nn.Linear(8, 3), nn.LogSoftmax(dim=-1))
    return model, randn(g, 4, 6)


# criteria: each with the default reduction (mean) and with sum

def _criteria(name, make, inputs):
    for reduction in ("mean", "sum"):
        def builder(g, reduction=reduction):
            x, target, config = inputs(g)
            return make(reduction), x, target, dict(config, reduction=reduction)
        CASES[f"{name}_{reduction}"] = ("core", "criterion", builder)


def _classes(g, n=4, c=5):
    return torch.randint(0, c, (n,), generator=g)


_criteria("mse", lambda r: nn.MSELoss(reduction=r),
          lambda g: (randn(g, 4, 3), randn(g, 4, 3), {"target": "tensor"}))
_criteria("cross_entropy", lambda r: nn.CrossEntropyLoss(reduction=r),
          lambda g: (randn(g, 4, 5, scale=2), _classes(g), {"target": "classes"}))
_criteria("nll", lambda r: nn.NLLLoss(reduction=r),
          lambda g: (torch.log_softmax(randn(g, 4, 5, scale=2), -1), _classes(g), {"target": "classes"}))
_criteria("bce", lambda r: nn.BCELoss(reduction=r),
          lambda g: (torch.sigmoid(randn(g, 4, 3, scale=2)), torch.rand(4, 3, generator=g, dtype=torch.float64),
                     {"target": "tensor"}))
_criteria("bce_with_logits", lambda r: nn.BCEWithLogitsLoss(reduction=r),
          lambda g: (randn(g, 4, 3, scale=3), torch.rand(4, 3, generator=g, dtype=torch.float64),
                     {"target": "tensor"}))


# ---------------------------------------------------------------------------------------
# vision (--include vision): Conv2D [F, C, kH, kW], pooling, a small convnet
# ---------------------------------------------------------------------------------------

@layer("conv2d", group="vision")
def _(g):
    conv = nn.Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2))
    return conv, randn(g, 2, 3, 7, 6), {"kernel_size": "3,2", "stride": "2,1", "padding": "1,2"}


@layer("conv2d_nobias", group="vision")
def _(g):
    conv = nn.Conv2d(2, 3, kernel_size=3, stride=1, padding=0, bias=False)
    return conv, randn(g, 2, 2, 5, 5), {"kernel_size": "3,3", "stride": "1,1", "padding": "0,0"}


@layer("maxpool2d", group="vision")
def _(g):
    pool = nn.MaxPool2d(kernel_size=(3, 2), stride=(2, 2), padding=(1, 0))
    return pool, randn(g, 2, 3, 7, 6), {"kernel_size": "3,2", "stride": "2,2", "padding": "1,0"}


@layer("avgpool2d", group="vision")
def _(g):
    pool = nn.AvgPool2d(kernel_size=(2, 3), stride=(2, 1))
    return pool, randn(g, 2, 3, 6, 7), {"kernel_size": "2,3", "stride": "2,1", "padding": "0,0"}


@layer("avgpool2d_padded", group="vision")
def _(g):
    # PyTorch's default count_include_pad=True: the zeros of the padding count in the mean.
    pool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
    return pool, randn(g, 2, 2, 5, 6), {"kernel_size": "3,3", "stride": "2,2", "padding": "1,1",
                                       "count_include_pad": "true"}


@layer("convnet", group="vision")
def _(g):
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # [N, 4, 6, 6]
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Tanh(),            # [N, 6, 3, 3]
        nn.Flatten(), nn.Linear(54, 5))
    return model, randn(g, 2, 1, 12, 12)


# ---------------------------------------------------------------------------------------
# recurrent (--include rnn): input [T, N, I], output [T, N, H], zero initial state
# ---------------------------------------------------------------------------------------

@layer("rnn", group="rnn")
def _(g):
    return nn.RNN(4, 5), randn(g, 3, 2, 4)


@layer("lstm", group="rnn")
def _(g):
    return nn.LSTM(4, 5), randn(g, 3, 2, 4)


@layer("gru", group="rnn")
def _(g):
    return nn.GRU(4, 5), randn(g, 3, 2, 4)


@layer("embedding", group="rnn")
def _(g):
    # indices [T, N] with repeats (their gradients add up); stored as floats
    indices = torch.tensor([[1, 4], [6, 1], [4, 4]])
    return nn.Embedding(7, 3), indices


# --- transposed convolution ---
# ConvTranspose2D weight [C, F, kH, kW]; outH = (H − 1)·stride − 2·padding + kH + output_padding

@layer("conv_transpose2d", group="vision")
def _(g):
    conv = nn.ConvTranspose2d(3, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
    return conv, randn(g, 2, 3, 3, 4), {"kernel_size": "3,3", "stride": "2,2", "padding": "1,1",
                                       "output_padding": "1,1"}


@layer("conv_transpose2d_nobias", group="vision")
def _(g):
    conv = nn.ConvTranspose2d(2, 3, kernel_size=(2, 4), stride=(1, 2), padding=(0, 1), bias=False)
    return conv, randn(g, 2, 2, 3, 4), {"kernel_size": "2,4", "stride": "1,2", "padding": "0,1",
                                       "output_padding": "0,0"}


@layer("upsample_nearest", group="vision")
def _(g):
    return nn.Upsample(scale_factor=2, mode="nearest"), randn(g, 2, 3, 3, 4), {"scale_factor": "2,2"}


@layer("upsample_nearest_rect", group="vision")
def _(g):
    return nn.Upsample(scale_factor=(2, 3), mode="nearest"), randn(g, 2, 2, 3, 2), {"scale_factor": "2,3"}

# ---------------------------------------------------------------------------------------
# networks that are not chains: the PyTorch twins of Residual, Concat and Parallel
# (Sources/Backprop/Layers/Containers), whose structure gives the parameter names
# body.0.weight, shortcut.weight, branches.1.0.weight, ...
# ---------------------------------------------------------------------------------------

class Residual(nn.Module):
    """y = shortcut(x) + body(x), or x + body(x) without a shortcut."""
    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = nn.Sequential(*body)
        self.shortcut = shortcut

    def forward(self, x):
        return (x if self.shortcut is None else self.shortcut(x)) + self.body(x)


class Concat(nn.Module):
    """Every branch on the input, the outputs joined along dim."""
    def __init__(self, dim, branches):
        super().__init__()
        self.dim = dim
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], self.dim)


class Parallel(nn.Module):
    """Branch i on piece i of x.split(sizes, dim), the outputs joined along dim."""
    def __init__(self, dim, sizes, branches):
        super().__init__()
        self.dim, self.sizes = dim, sizes
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(p) for b, p in zip(self.branches, x.split(self.sizes, self.dim))], self.dim)


@layer("residual_block")  # Linear-ReLU-Linear body, Linear shortcut
def _(g):
    return Residual([nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 6)], shortcut=nn.Linear(5, 6)), randn(g, 4, 5)


@layer("residual_conv_block")  # a downsampling block: strided body, strided 1x1 projection
def _(g):
    body = [nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(3, 3, 3, padding=1)]
    return Residual(body, shortcut=nn.Conv2d(2, 3, 1, stride=2)), randn(g, 2, 2, 5, 5)


@layer("concat_block")  # dense branches, one a nested residual block
def _(g):
    branches = [nn.Linear(5, 3), nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)),
                Residual([nn.Linear(5, 5), nn.Tanh()])]
    return Concat(1, branches), randn(g, 4, 5), {"dim": "1"}


@layer("inception_block")  # NCHW channel concat: 1x1, 1x1-ReLU-3x3, maxpool-1x1
def _(g):
    branches = [nn.Conv2d(3, 2, 1),
                nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.Conv2d(2, 3, 3, padding=1)),
                nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(3, 2, 1))]
    return Concat(1, branches), randn(g, 2, 3, 5, 5), {"dim": "1"}


@layer("parallel_block")  # x [4, 5] split into [4, 2] and [4, 3] along 1
def _(g):
    branches = [nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 2), nn.Tanh())]
    return Parallel(1, [2, 3], branches), randn(g, 4, 5), {"dim": "1", "sizes": "2,3"}


# --- normalization ---
# Batch norms in training mode (batch statistics; the running statistics updated, from
# non-trivial values) and in evaluation mode (running statistics), and layer norms.

def _with_running_stats(g, bn, tracked=3):
    with torch.no_grad():
        bn.running_mean.copy_(randn(g, bn.num_features, scale=0.5))
        bn.running_var.copy_(torch.rand(bn.num_features, generator=g, dtype=torch.float64) + 0.5)
        bn.num_batches_tracked.fill_(tracked)
    return bn


@layer("batchnorm1d")
def _(g):
    return _with_running_stats(g, nn.BatchNorm1d(4)), randn(g, 6, 4, scale=2) + 1, {"mode": "train"}


@layer("batchnorm1d_sequence")  # [N, C, L]
def _(g):
    return _with_running_stats(g, nn.BatchNorm1d(3)), randn(g, 4, 3, 5), {"mode": "train"}


@layer("batchnorm1d_eval")
def _(g):
    return _with_running_stats(g, nn.BatchNorm1d(4)).eval(), randn(g, 6, 4), {"mode": "eval"}


@layer("batchnorm2d")
def _(g):
    return _with_running_stats(g, nn.BatchNorm2d(3)), randn(g, 2, 3, 5, 7) - 0.5, {"mode": "train"}


@layer("batchnorm2d_cumulative")  # momentum=None: a cumulative average, factor 1/(tracked+1)
def _(g):
    bn = _with_running_stats(g, nn.BatchNorm2d(3, momentum=None, eps=1e-3))
    return bn, randn(g, 3, 3, 3, 5), {"mode": "train", "momentum": "none", "eps": "1e-3"}


@layer("batchnorm2d_eval")
def _(g):
    return _with_running_stats(g, nn.BatchNorm2d(3)).eval(), randn(g, 2, 3, 5, 7), {"mode": "eval"}


@layer("layernorm")
def _(g):
    return nn.LayerNorm(6), randn(g, 4, 2, 6, scale=2) + 1, {"normalized_shape": "6"}


@layer("layernorm_2d")  # over the last two axes
def _(g):
    return nn.LayerNorm([3, 4]), randn(g, 2, 3, 4), {"normalized_shape": "3,4"}


# ---------------------------------------------------------------------------------------
# optim: torch.optim's first steps and torch.optim.lr_scheduler's rates
# ---------------------------------------------------------------------------------------
# An optimizer case runs 5 steps of torch.optim on three parameters: a Linear weight
# [4, 5] and a conv weight [3, 2, 2, 2] (weight decay and max-norm apply to these, as our
# `decays`) and a bias [4] (never decayed: its own parameter group with weight_decay 0).
# The gradients of each step are fixed random tensors. It writes param.<i> (before),
# grad.<t>.<i> and after.<t>.<i> for steps t = 1...5. With "max_norm", every decaying
# parameter is renormed after each step: torch.renorm(w, 2, 0, max_norm).
# A schedule case writes the learning rate of each step (or epoch) as "rates" [n]
# (float64 only), and the metrics fed to ReduceLROnPlateau as "metrics".

OPTIMIZER_STEPS = 5
OPTIMIZER_SHAPES = ((4, 5), (4,), (3, 2, 2, 2))
OPTIMIZER_DECAYS = (True, False, True)


def optimizer_case(name, make, max_norm=None, **config):
    """Registers an optimizer case: make(groups) -> torch optimizer, where groups is
    [decaying parameters, non-decaying parameters] as param-group dicts (weight decay
    belongs in `make`'s own defaults: the non-decaying group overrides it with 0)."""
    def builder(g):
        return make, max_norm, config
    CASES[name] = ("optim", "optimizer", builder)


def schedule_case(name):
    """Registers a schedule case: builder() -> (rates list, config[, metrics list])."""
    def register(builder):
        CASES[name] = ("optim", "schedule", lambda g: builder())
        return builder
    return register


O = torch.optim
optimizer_case("optim_sgd", lambda p: O.SGD(p, lr=0.1), lr=0.1)
optimizer_case("optim_sgd_momentum", lambda p: O.SGD(p, lr=0.1, momentum=0.9), lr=0.1, momentum=0.9)
optimizer_case("optim_sgd_dampening", lambda p: O.SGD(p, lr=0.1, momentum=0.9, dampening=0.3),
               lr=0.1, momentum=0.9, dampening=0.3)
optimizer_case("optim_sgd_nesterov", lambda p: O.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
               lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
optimizer_case("optim_sgd_weight_decay", lambda p: O.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.1),
               lr=0.1, momentum=0.5, weight_decay=0.1)
optimizer_case("optim_sgd_max_norm", lambda p: O.SGD(p, lr=0.5, momentum=0.9), max_norm=1.0,
               lr=0.5, momentum=0.9)
optimizer_case("optim_adam", lambda p: O.Adam(p, lr=0.01), lr=0.01)
optimizer_case("optim_adam_amsgrad", lambda p: O.Adam(p, lr=0.01, amsgrad=True), lr=0.01, amsgrad=True)
optimizer_case("optim_adam_weight_decay", lambda p: O.Adam(p, lr=0.01, weight_decay=0.1), lr=0.01, weight_decay=0.1)
optimizer_case("optim_adamw", lambda p: O.AdamW(p, lr=0.01, weight_decay=0.1), lr=0.01, weight_decay=0.1)
optimizer_case("optim_adamw_amsgrad", lambda p: O.AdamW(p, lr=0.01, amsgrad=True), lr=0.01, amsgrad=True)
optimizer_case("optim_adamw_max_norm", lambda p: O.AdamW(p, lr=0.1), max_norm=0.8, lr=0.1)
optimizer_case("optim_rmsprop", lambda p: O.RMSprop(p, lr=0.01), lr=0.01)
optimizer_case("optim_rmsprop_centered", lambda p: O.RMSprop(p, lr=0.01, centered=True), lr=0.01, centered=True)
optimizer_case("optim_rmsprop_momentum", lambda p: O.RMSprop(p, lr=0.01, momentum=0.9, weight_decay=0.1),
               lr=0.01, momentum=0.9, weight_decay=0.1)
optimizer_case("optim_rmsprop_centered_momentum", lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True),
               lr=0.01, alpha=0.9, momentum=0.5, centered=True)
optimizer_case("optim_adagrad", lambda p: O.Adagrad(p, lr=0.1), lr=0.1)
optimizer_case("optim_adagrad_lr_decay", lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.1, weight_decay=0.1),
               lr=0.1, lr_decay=0.1, weight_decay=0.1)
optimizer_case("optim_adagrad_initial_accumulator", lambda p: O.Adagrad(p, lr=0.1, initial_accumulator_value=0.5),
               lr=0.1, initial_accumulator_value=0.5)


def make_optimizer(name, builder, g):
    make, max_norm, config = builder(g)
    initial = [randn(g, *shape, scale=0.5) for shape in OPTIMIZER_SHAPES]
    grads = [[randn(g, *shape) for shape in OPTIMIZER_SHAPES] for _ in range(OPTIMIZER_STEPS)]
    results = {}
    for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        params = [w.to(dtype).clone().requires_grad_(True) for w in initial]
        decaying = [p for p, d in zip(params, OPTIMIZER_DECAYS) if d]
        fixed = [p for p, d in zip(params, OPTIMIZER_DECAYS) if not d]
        optimizer = make([{"params": decaying}, {"params": fixed, "weight_decay": 0.0}])
        tensors = {f"param.{i}": p.detach().clone() for i, p in enumerate(params)}
        for t in range(1, OPTIMIZER_STEPS + 1):
            for i, p in enumerate(params):
                p.grad = grads[t - 1][i].to(dtype).clone()
                tensors[f"grad.{t}.{i}"] = p.grad.clone()
            optimizer.step()
            if max_norm is not None:
                with torch.no_grad():
                    for p in decaying:
                        p.copy_(torch.renorm(p, 2, 0, max_norm))
            for i, p in enumerate(params):
                tensors[f"after.{t}.{i}"] = p.detach().clone()
        meta = {"kind": "optimizer", "module": type(optimizer).__name__, "steps": str(OPTIMIZER_STEPS),
                "decays": ",".join(str(d).lower() for d in OPTIMIZER_DECAYS),
                **({"max_norm": str(max_norm)} if max_norm is not None else {}), **config}
        results[tag] = (tensors, meta)
    return results


def _rates(scheduler, optimizer, steps, metrics=None):
    """The rate in force for each of `steps` steps (scheduler.step() after each)."""
    rates = []
    for k in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(*([metrics[k]] if metrics is not None else []))
    return rates


def _dummy_optimizer(lr):
    return O.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


@schedule_case("schedule_onecycle")
def _():
    opt = _dummy_optimizer(0.1)
    sched = O.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20, pct_start=0.3, div_factor=25,
                                      final_div_factor=1e4, anneal_strategy="cos", cycle_momentum=False)
    return _rates(sched, opt, 20), {"max_lr": 0.1, "total_steps": 20, "pct_start": 0.3, "div_factor": 25, "final_div_factor": 1e4}


@schedule_case("schedule_onecycle_uneven")  # pct_start · total not a whole number of steps
def _():
    opt = _dummy_optimizer(0.05)
    sched = O.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=13, pct_start=0.25, div_factor=10,
                                      final_div_factor=100, anneal_strategy="cos", cycle_momentum=False)
    return _rates(sched, opt, 13), {"max_lr": 0.05, "total_steps": 13, "pct_start": 0.25, "div_factor": 10, "final_div_factor": 100}


@schedule_case("schedule_warmup_cosine")  # LambdaLR with our warm-up + cosine as the factor
def _():
    import math
    base, warmup, total, minimum = 0.1, 5, 20, 0.001

    def factor(s):
        if s < warmup:
            return (s + 1) / warmup
        if s >= total:
            return minimum / base
        return (minimum + (base - minimum) * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))) / 2) / base
    opt = _dummy_optimizer(base)
    sched = O.lr_scheduler.LambdaLR(opt, factor)
    return _rates(sched, opt, 24), {"lr": base, "warmup": warmup, "total": total, "minimum": minimum}


@schedule_case("schedule_cosine_annealing")  # per epoch
def _():
    opt = _dummy_optimizer(0.1)
    sched = O.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    return _rates(sched, opt, 11), {"lr": 0.1, "T_max": 10, "eta_min": 0.001}


@schedule_case("schedule_step_lr")  # per epoch
def _():
    opt = _dummy_optimizer(0.1)
    sched = O.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    return _rates(sched, opt, 10), {"lr": 0.1, "step_size": 3, "gamma": 0.5}


@schedule_case("schedule_exponential_lr")  # per epoch
def _():
    opt = _dummy_optimizer(0.1)
    sched = O.lr_scheduler.ExponentialLR(opt, gamma=0.8)
    return _rates(sched, opt, 10), {"lr": 0.1, "gamma": 0.8}


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.91, 0.9, 0.89, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9,
                   0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98]


@schedule_case("schedule_plateau_min")
def _():
    opt = _dummy_optimizer(0.1)
    sched = O.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.01,
                                             threshold_mode="rel", cooldown=1, min_lr=0.01)
    # rates[k]: the rate after the k-th metric
    rates = []
    for m in PLATEAU_METRICS:
        sched.step(m)
        rates.append(opt.param_groups[0]["lr"])
    return rates, {"lr": 0.1, "mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "threshold_mode": "rel",
                   "cooldown": 1, "min_lr": 0.01}, PLATEAU_METRICS


@schedule_case("schedule_plateau_max_abs")
def _():
    opt = _dummy_optimizer(0.1)
    sched = O.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=1, threshold=0.02,
                                             threshold_mode="abs", cooldown=0, min_lr=0.0)
    metrics = [-m for m in PLATEAU_METRICS]
    rates = []
    for m in metrics:
        sched.step(m)
        rates.append(opt.param_groups[0]["lr"])
    return rates, {"lr": 0.1, "mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.02, "threshold_mode": "abs",
                   "cooldown": 0, "min_lr": 0.0}, metrics


def make_schedule(name, builder, g):
    built = builder(g)
    rates, config = built[0], built[1]
    tensors = {"rates": torch.tensor(rates, dtype=torch.float64)}
    if len(built) > 2:
        tensors["metrics"] = torch.tensor(built[2], dtype=torch.float64)
    return {"f64": (tensors, {"kind": "schedule", **config})}


def make_renorm(name, builder, g):
    """The max-norm rule alone: torch.renorm(w, 2, 0, 1.25)."""
    # a Linear weight [6, 5] and a conv weight [4, 3, 2, 2], some rows above the bound, some below
    results = {}
    linear = randn(g, 6, 5) * torch.tensor([0.2, 1.5, 0.4, 2.0, 0.1, 1.0], dtype=torch.float64)[:, None]
    conv = randn(g, 4, 3, 2, 2) * torch.tensor([0.1, 1.0, 0.3, 2.0], dtype=torch.float64)[:, None, None, None]
    for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        tensors = {}
        for key, w in (("linear", linear), ("conv", conv)):
            tensors[key] = w.to(dtype)
            tensors[key + ".renormed"] = torch.renorm(w.to(dtype), 2, 0, 1.25)
        results[tag] = (tensors, {"kind": "renorm", "max_norm": "1.25"})
    return results


CASES["optim_renorm"] = ("optim", "renorm", None)


# ---------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------

def first(output):
    """RNN modules return (output, state): the fixture keeps the output sequence."""
    return output[0] if isinstance(output, tuple) else output


def make_layer(name, builder, g):
    built = builder(g)
    module, x = built[0], built[1]
    config = built[2] if len(built) > 2 else {}
    module = module.double()
    with torch.no_grad():  # fixed weights from the generator, not torch's initializer
        for _, p in module.named_parameters():
            p.copy_(randn(g, *p.shape, scale=0.5))
    is_index = x.dtype == torch.int64
    # buffers (a batch norm's running statistics): every forward starts from these
    initial_buffers = {n: b.detach().clone() for n, b in module.named_buffers()}

    def reset_buffers(m):
        with torch.no_grad():
            for n, b in m.named_buffers():
                b.copy_(initial_buffers[n])

    with torch.no_grad():
        out_shape = first(module(x)).shape
    reset_buffers(module)
    grad_output = randn(g, *out_shape)
    results = {}
    for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        m = module.to(dtype)
        reset_buffers(m)
        xi = x if is_index else x.detach().to(dtype).clone().requires_grad_(True)
        for p in m.parameters():
            p.grad = None
        buffers_before = {n: b.detach().clone() for n, b in m.named_buffers()}
        y = first(m(xi))
        y.backward(grad_output.to(dtype))
        tensors = {"input": x.detach().to(dtype), "output": y.detach(), "grad_output": grad_output.to(dtype)}
        if not is_index:
            tensors["grad_input"] = xi.grad.detach()
        for pname, p in m.named_parameters():
            tensors["param." + pname] = p.detach().clone()
            tensors["grad." + pname] = p.grad.detach().clone()
        for bname, b in m.named_buffers():
            tensors["buffer." + bname] = buffers_before[bname]
            tensors["buffer_after." + bname] = b.detach().clone()
        if initial_buffers:
            config = dict(config, state_dict=",".join(
                f"{k}:{ {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64'}[v.dtype]}"
                for k, v in m.state_dict().items()))
        meta = {"kind": "layer", "module": repr(module).replace("\n", " "),
                "input_is_index": str(is_index).lower(), **config}
        results[tag] = (tensors, meta)
    return results


def make_criterion(name, builder, g):
    loss, x, target, config = builder(g)
    results = {}
    for tag, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        xi = x.detach().to(dtype).clone().requires_grad_(True)
        t = target if target.dtype == torch.int64 else target.to(dtype)
        value = loss(xi, t)
        value.backward()
        tensors = {"input": x.detach().to(dtype), "target": t.to(dtype), "output": value.detach(),
                   "grad_input": xi.grad.detach()}
        meta = {"kind": "criterion", "module": repr(loss), **config}
        results[tag] = (tensors, meta)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: Tests/BackpropTests/Reference/Fixtures)")
    parser.add_argument("--include", default="", help="extra groups to emit, comma-separated: vision,rnn,optim")
    parser.add_argument("--only", default="", help="only these cases, comma-separated")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()

    groups = {"core"} | {s.strip() for s in args.include.split(",") if s.strip()}
    unknown = groups - {group for group, _, _ in CASES.values()}
    if unknown:
        sys.exit(f"unknown group(s) {sorted(unknown)}; known: core, vision, rnn, optim")
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if only - set(CASES):
        sys.exit(f"unknown case(s) {sorted(only - set(CASES))}; known: {', '.join(CASES)}")
    if args.list:
        for name, (group, kind, _) in CASES.items():
            print(f"{name:24} {group:7} {kind}")
        return

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name, (group, kind, builder) in CASES.items():
        if (only and name not in only) or (not only and group not in groups):
            continue
        g = torch.Generator().manual_seed(zlib.crc32(name.encode()))  # a fixed seed per case
        make = {"layer": make_layer, "criterion": make_criterion, "optimizer": make_optimizer,
                "schedule": make_schedule, "renorm": make_renorm}[kind]
        results = make(name, builder, g)
        for tag, (tensors, meta) in results.items():
            meta = {"generator": "Scripts/make-reference-fixtures.py", "torch": torch.__version__,
                    "case": name, "dtype": tag, **{k: str(v) for k, v in meta.items()}}
            path = os.path.join(args.out, f"{name}.{tag}.safetensors")
            save_file(tensors, path, metadata=meta)
            print(f"{path}  ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
