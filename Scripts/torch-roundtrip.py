#!/usr/bin/env python3
"""Moves an MLP between Backprop and PyTorch, both ways, and checks that the test-set
predictions are identical.

  1. ours -> torch: `mnist-mlp --save` trains and saves a model; PyTorch loads the file
     into the equivalent nn.Sequential with load_state_dict (strict: every name and shape
     must match) and classifies the MNIST test set; the predictions are compared with the
     ones mnist-mlp wrote (--predictions).
  2. torch -> ours: PyTorch trains the same nn.Sequential and saves its state_dict as
     safetensors; `mnist-mlp --load` evaluates it and writes its predictions, which are
     compared with PyTorch's.

    apt-get install python3-torch            # or: pip install torch
    /usr/bin/python3 Scripts/torch-roundtrip.py [--epochs 1] [--hidden 1024,1024] [--data DIR]

Outputs go to out/roundtrip/. Exit status 0 when the predictions are identical both ways.
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
from safetensors_io import load_file, save_file  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="training epochs on each side (default 1)")
    parser.add_argument("--hidden", default="1024,1024", help="hidden sizes (default 1024,1024, as mnist-mlp)")
    parser.add_argument("--data", help="MNIST directory (else $MNIST_DIR, ../shared/data/mnist, Data/mnist)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both sides")
    parser.add_argument("--no-build", action="store_true", help="do not run swift build first")
    args = parser.parse_args()
    hidden = [int(h) for h in args.hidden.split(",")]
    data = locate_mnist(args.data)
    out = os.path.join(ROOT, "out", "roundtrip")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(args.threads)
    binary = os.path.join(ROOT, ".build", "release", "mnist-mlp")
    if not args.no_build:
        run(["swift", "build", "-c", "release", "--product", "mnist-mlp"])
    common = ["--data", data, "--hidden", args.hidden, "--threads", str(args.threads)]
    x_test, y_test = mnist(data, "test")
    print(f"torch {torch.__version__}, MNIST from {data}, hidden {hidden}, {args.epochs} epoch(s)\n")

    # 1. ours -> torch
    ours_model, ours_scores = os.path.join(out, "ours.safetensors"), os.path.join(out, "ours-scores.safetensors")
    run([binary, *common, "--epochs", str(args.epochs), "--save", ours_model, "--predictions", ours_scores])
    state, metadata = load_file(ours_model)
    print(f"ours.safetensors: {', '.join(f'{k} {list(v.shape)} {str(v.dtype)[6:]}' for k, v in state.items())}")
    model = mlp(hidden)
    model.load_state_dict(state, strict=True)  # every name present, none extra, same shapes
    model.eval()
    with torch.no_grad():
        torch_scores = model(x_test)
    ok1 = compare("ours -> torch", load_file(ours_scores)[0]["scores"], torch_scores, y_test)
    print()

    # 2. torch -> ours
    torch.manual_seed(1)
    x_train, y_train = mnist(data, "train")
    model = mlp(hidden)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y_train))
        for i in range(0, len(order), 128):
            batch = order[i:i + 128]
            optimizer.zero_grad()
            loss(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        print(f"PyTorch epoch {epoch + 1}/{args.epochs} done")
    model.eval()
    with torch.no_grad():
        torch_scores = model(x_test)
    torch_model = os.path.join(out, "torch.safetensors")
    save_file(model.state_dict(), torch_model, metadata={"format": "pt"})
    print(f"saved torch's state_dict to {torch_model}: {', '.join(model.state_dict().keys())}")
    theirs_scores = os.path.join(out, "torch-in-ours-scores.safetensors")
    run([binary, *common, "--load", torch_model, "--predictions", theirs_scores])
    ok2 = compare("torch -> ours", load_file(theirs_scores)[0]["scores"], torch_scores, y_test)

    print("\nround trip: " + ("identical predictions both ways" if ok1 and ok2 else "predictions DIFFER"))
    sys.exit(0 if ok1 and ok2 else 1)


if __name__ == "__main__":
    main()
