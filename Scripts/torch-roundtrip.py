#!/usr/bin/env python3
"""Moves a model (the MLP of mnist-mlp, or the ResNet of mnist-resnet) between Backprop and
PyTorch, both ways, and checks that the test-set predictions are identical.

  1. ours -> torch: `mnist-mlp --save` (or `mnist-resnet --save`) trains and saves a
     model; PyTorch loads the file into the equivalent module with load_state_dict
     (strict: every name and shape must match, buffers included: BatchNorm's running_mean,
     running_var and num_batches_tracked) and classifies the MNIST test set in evaluation
     mode; the predictions are compared with the ones the example wrote (--predictions).
  2. torch -> ours: PyTorch trains the same module and saves its state_dict (buffers
     included) as safetensors; `mnist-mlp --load` (`mnist-resnet --load`) evaluates it and
     writes its predictions, which are compared with PyTorch's.

    apt-get install python3-torch            # or: pip install torch
    /usr/bin/python3 Scripts/torch-roundtrip.py [--epochs 1] [--hidden 1024,1024] [--data DIR]
    /usr/bin/python3 Scripts/torch-roundtrip.py --model resnet [--epochs 1] [--lr 0.02] [--data DIR] [--out DIR]
    /usr/bin/python3 Scripts/torch-roundtrip.py --model resnet --reuse --direction to-torch   # a full run's model

Outputs go to out/roundtrip/ (--out DIR). Exit status 0 when the predictions are identical both ways.
"""
import argparse
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, HERE)
from safetensors_io import load_file, safe_open, save_file  # noqa: E402


def locate_mnist(option):
    candidates = [option, os.environ.get("MNIST_DIR"), os.path.join(ROOT, "..", "shared", "data", "mnist"),
                  os.path.join(ROOT, "Data", "mnist")]
    for c in candidates:
        if c and os.path.exists(os.path.join(c, "t10k-images-idx3-ubyte.gz")) or \
                c and os.path.exists(os.path.join(c, "t10k-images-idx3-ubyte")):
            return os.path.abspath(c)
    sys.exit(f"MNIST not found in {[c for c in candidates if c]}; use --data DIR or Scripts/download-mnist.sh")


def load_idx(directory, name):
    path = os.path.join(directory, name)
    raw = gzip.open(path + ".gz").read() if os.path.exists(path + ".gz") else open(path, "rb").read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def mnist(directory, split):
    prefix = "train" if split == "train" else "t10k"
    x = load_idx(directory, f"{prefix}-images-idx3-ubyte").astype(np.float32) / np.float32(255)
    y = load_idx(directory, f"{prefix}-labels-idx1-ubyte").astype(np.int64)
    return torch.from_numpy(x.reshape(len(x), -1).copy()), torch.from_numpy(y.copy())


def mlp(hidden):
    """The same network as mnist-mlp: Linear, ReLU for each hidden size, then Linear to 10."""
    sizes, layers = [784] + hidden, []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 10))


class Residual(nn.Module):
    """Backprop's Residual: y = shortcut(x) + body(x), the shortcut the identity when None.
    Names: body.0.weight, ..., shortcut.0.weight (as Residual's namedParameters)."""
    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = nn.Sequential(*body)
        self.shortcut = shortcut

    def forward(self, x):
        return (x if self.shortcut is None else self.shortcut(x)) + self.body(x)


def basic_block(cin, cout, stride=1):
    """mnist-resnet's basicBlock: Residual(conv3x3 BN ReLU conv3x3 BN; projection shortcut
    conv1x1 + BN where the shape changes), then ReLU: two entries of the Sequential."""
    shortcut = None
    if stride != 1 or cin != cout:
        shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    body = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)]
    return [Residual(body, shortcut), nn.ReLU()]


def resnet():
    """The same network as mnist-resnet (the `resnet` workload of shared/bench), with the
    same module tree, so the state_dict names are ours: 0.weight, 1.running_mean,
    3.body.0.weight, 7.shortcut.0.weight, 7.shortcut.1.num_batches_tracked, 17.weight."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        *basic_block(16, 16), *basic_block(16, 16),
        *basic_block(16, 32, 2), *basic_block(32, 32),
        *basic_block(32, 64, 2), *basic_block(64, 64),
        nn.AvgPool2d(7), nn.Flatten(), nn.Linear(64, 10))


def scores_of(model, x, batch=1000):
    """The model's scores for x in evaluation mode, batch by batch."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def run(command):
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in result.stdout.splitlines():
        print("    " + line)
    if result.returncode != 0:
        sys.exit(f"failed with status {result.returncode}")


def compare(what, ours, theirs, labels):
    """Prints and returns whether the argmax predictions of two [N, 10] score tensors agree."""
    ours, theirs = ours.double(), theirs.double()
    same = int((ours.argmax(1) == theirs.argmax(1)).sum())
    n = len(labels)
    diff = float((ours - theirs).abs().max())
    acc_ours = float((ours.argmax(1) == labels).double().mean()) * 100
    acc_theirs = float((theirs.argmax(1) == labels).double().mean()) * 100
    verdict = "IDENTICAL" if same == n else "DIFFERENT"
    print(f"{what}: predictions {verdict} for {same}/{n} test images; "
          f"max |score difference| {diff:.3g}; accuracy ours {acc_ours:.2f}%, PyTorch {acc_theirs:.2f}%")
    return same == n


def check_safetensors_io(out):
    """safetensors_io has the `safetensors` package's API: load_file gives {name: tensor},
    safe_open(...).metadata() the metadata (checked on every run, with whichever
    implementation is in use; both when the package is installed)."""
    import safetensors_io
    path = os.path.join(out, "api-check.safetensors")
    tensors = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor([7], dtype=torch.int64)}
    implementations = [("safetensors_io", safetensors_io.load_file, safetensors_io.safe_open)]
    if safetensors_io._st is not None:  # the fallback too, when the package hides it
        implementations.append(("safetensors_io fallback", lambda p: safetensors_io._read(p)[0],
                                lambda p, framework: safetensors_io._SafeOpen(p, framework)))
    save_file(tensors, path, metadata={"format": "pt"})
    for name, load, opener in implementations:
        loaded = load(path)
        assert isinstance(loaded, dict) and set(loaded) == set(tensors), f"{name}.load_file must return the dict of tensors"
        assert all(torch.equal(loaded[k], tensors[k]) for k in tensors), f"{name}.load_file changed a tensor"
        with opener(path, framework="pt") as f:
            assert f.metadata() == {"format": "pt"}, f"{name}.safe_open(...).metadata() is {f.metadata()!r}"
            assert set(f.keys()) == set(tensors) and torch.equal(f.get_tensor("w"), tensors["w"])
    os.remove(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["mlp", "resnet"], default="mlp",
                        help="mlp (mnist-mlp, the default) or resnet (mnist-resnet)")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs on each side (default 1)")
    parser.add_argument("--hidden", default="1024,1024", help="mlp: hidden sizes (default 1024,1024, as mnist-mlp)")
    parser.add_argument("--data", help="MNIST directory (else $MNIST_DIR, ../shared/data/mnist, Data/mnist)")
    parser.add_argument("--lr", type=float, help="learning rate on both sides (default: the example's, 0.05 mlp, 0.1 resnet)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both sides")
    parser.add_argument("--no-build", action="store_true", help="do not run swift build first")
    parser.add_argument("--out", default=os.path.join(ROOT, "out", "roundtrip"), help="output folder (default out/roundtrip)")
    parser.add_argument("--direction", choices=["both", "to-torch", "from-torch"], default="both",
                        help="both (the default), only ours -> torch, or only torch -> ours")
    parser.add_argument("--reuse", action="store_true",
                        help="ours -> torch: do not train, use the model and scores already in --out "
                             "(e.g. of a full run: mnist-resnet --save out/roundtrip/resnet-ours.safetensors "
                             "--predictions out/roundtrip/resnet-ours-scores.safetensors)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    check_safetensors_io(args.out)
    hidden = [int(h) for h in args.hidden.split(",")]
    data = locate_mnist(args.data)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(args.threads)
    program = "mnist-mlp" if args.model == "mlp" else "mnist-resnet"
    binary = os.path.join(ROOT, ".build", "release", program)
    if not args.no_build:
        run(["swift", "build", "-c", "release", "--product", program])
    common = ["--data", data, "--threads", str(args.threads)]
    lr = args.lr or (0.05 if args.model == "mlp" else 0.1)
    train_options = ["--lr", str(args.lr)] if args.lr else []
    if args.model == "mlp":
        common += ["--hidden", args.hidden]
        make_model, image_shape = (lambda: mlp(hidden)), (-1, 784)
        # mnist-mlp's recipe: SGD lr 0.05, momentum 0.9, batch 128
        make_optimizer, batch_size = (lambda m: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)), 128
        described = f"hidden {hidden}"
    else:
        make_model, image_shape = resnet, (-1, 1, 28, 28)
        # mnist-resnet's recipe (constant rate here): SGD lr 0.1, momentum 0.9, weight decay
        # 5e-4 on the convolution and linear weights only, batch 128
        def make_optimizer(m):
            decay = [p for p in m.parameters() if p.dim() > 1]
            rest = [p for p in m.parameters() if p.dim() <= 1]
            return torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}],
                                   lr=lr, momentum=0.9)
        batch_size = 128
        described = "resnet"
    x_test, y_test = mnist(data, "test")
    x_test = x_test.reshape(image_shape)
    print(f"torch {torch.__version__}, MNIST from {data}, {described}, {args.epochs} epoch(s)\n")

    prefix = "" if args.model == "mlp" else "resnet-"
    ok1 = ok2 = True
    if args.direction != "from-torch":
        ok1 = ours_to_torch(args, binary, common, train_options, out, prefix, make_model, x_test, y_test)
    if args.direction != "to-torch":
        ok2 = torch_to_ours(args, binary, common, out, prefix, make_model, make_optimizer, batch_size, image_shape,
                            data, x_test, y_test)
    where = " both ways" if args.direction == "both" else f" ({args.direction} only)"
    print("\nround trip: " + ("identical predictions" if ok1 and ok2 else "predictions DIFFER") + where)
    sys.exit(0 if ok1 and ok2 else 1)


def ours_to_torch(args, binary, common, train_options, out, prefix, make_model, x_test, y_test):
    """1. ours -> torch: our saved model in PyTorch, predictions compared with ours."""
    ours_model = os.path.join(out, prefix + "ours.safetensors")
    ours_scores = os.path.join(out, prefix + "ours-scores.safetensors")
    if args.reuse:
        print(f"using {ours_model} and {ours_scores} (--reuse)")
    else:
        run([binary, *common, *train_options, "--epochs", str(args.epochs), "--save", ours_model, "--predictions", ours_scores])
    state = load_file(ours_model)
    print(f"{os.path.basename(ours_model)}: {len(state)} tensors: "
          f"{', '.join(f'{k} {list(v.shape)} {str(v.dtype)[6:]}' for k, v in state.items())}")
    model = make_model()
    model.load_state_dict(state, strict=True)  # every name present, none extra, same shapes
    torch_scores = scores_of(model, x_test)
    ok = compare("ours -> torch", load_file(ours_scores)["scores"], torch_scores, y_test)
    print()
    return ok


def torch_to_ours(args, binary, common, out, prefix, make_model, make_optimizer, batch_size, image_shape, data, x_test, y_test):
    """2. torch -> ours: a model PyTorch trained, in ours, predictions compared with PyTorch's."""
    torch.manual_seed(1)
    x_train, y_train = mnist(data, "train")
    x_train = x_train.reshape(image_shape)
    model = make_model()
    optimizer = make_optimizer(model)
    loss = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y_train))
        for i in range(0, len(order), batch_size):
            batch = order[i:i + batch_size]
            optimizer.zero_grad()
            loss(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        print(f"PyTorch epoch {epoch + 1}/{args.epochs} done")
    torch_scores = scores_of(model, x_test)
    torch_model = os.path.join(out, prefix + "torch.safetensors")
    save_file(model.state_dict(), torch_model, metadata={"format": "pt"})
    print(f"saved torch's state_dict to {torch_model}: {len(model.state_dict())} tensors: {', '.join(model.state_dict().keys())}")
    theirs_scores = os.path.join(out, prefix + "torch-in-ours-scores.safetensors")
    run([binary, *common, "--load", torch_model, "--predictions", theirs_scores])
    return compare("torch -> ours", load_file(theirs_scores)["scores"], torch_scores, y_test)


if __name__ == "__main__":
    main()
