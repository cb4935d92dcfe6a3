#!/usr/bin/env python3
"""The cost model of data-parallel training over MPI (BackpropMPI), as a table.

Each machine is a 2-core box like the project's, training on its own b examples of every
global batch (weak scaling: global batch N*b). A step costs the machine's compute T_c plus
the ring allreduce of the S gradient bytes, which moves 2(N-1)/N * S bytes in and out of
every machine, in 2(N-1) messages per bucket:

    T_comm(N) = 2 (N-1)/N * S / bandwidth + 2 (N-1) * alpha * buckets

Without overlap a step is T_c + T_comm. With overlap, the allreduce of the buckets that
backward completes early runs during the rest of backward: up to `hide` ms of T_comm
disappear (what the layer order allows; see the article). samples/s = N * b / step.

    python3 Scripts/mpi-scaling-model.py [--alpha-us 30]
"""
import argparse

# Compute per step on one 2-core machine (ms, batch b): the Performance article's 2-core
# samples/s (mlp 14,539 at b=128, convnet 3,735 at b=64). S: the gradient bytes (Float).
# hide: the backward time left once the early bucket is complete (ms), from the layers'
# multiply-adds (mlp: only the first layer's weight gradient, 103 M of the step's 611 M,
# runs after the other layers' 4.2 MB are complete; convnet: both convolutions' backward,
# 675 M of 1147 M, runs after the classifier's 2.57 MB).
WORKLOADS = {
    "mlp": dict(b=128, compute_ms=128 / 14539 * 1e3, bytes=1_863_690 * 4, hide_ms=103 / 611 * 128 / 14539 * 1e3,
                early_bytes=(1024 * 1024 + 1024 + 10 * 1024 + 10) * 4),
    "convnet": dict(b=64, compute_ms=64 / 3735 * 1e3, bytes=693_954 * 4, hide_ms=675 / 1147 * 64 / 3735 * 1e3,
                    early_bytes=(3200 * 200 + 200 + 200 * 10 + 10) * 4),
}


def comm_ms(n, nbytes, gbps, alpha_us, buckets=1):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / (gbps * 1e9 / 8) * 1e3 + 2 * (n - 1) * alpha_us * 1e-3 * buckets


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alpha-us", type=float, default=30, help="latency per message, microseconds (TCP over Ethernet: 20-50)")
    args = parser.parse_args()
    machines = [1, 2, 4, 8, 16, 32, 64]
    for name, w in WORKLOADS.items():
        print(f"\n{name}: b = {w['b']} per machine, compute {w['compute_ms']:.1f} ms per step, "
              f"gradients {w['bytes'] / 1e6:.2f} MB, overlap can hide up to {w['hide_ms']:.1f} ms")
        print("| machines | global batch | 10 Gb/s: allreduce | samples/s | overlapped | 25 Gb/s: allreduce | samples/s | overlapped |")
        print("|---|---|---|---|---|---|---|---|")
        for n in machines:
            cells = []
            for gbps in (10, 25):
                c1 = comm_ms(n, w["bytes"], gbps, args.alpha_us, 1)
                plain = n * w["b"] / ((w["compute_ms"] + c1) * 1e-3)
                # two buckets: the early one (hidden up to hide_ms), then the rest after backward
                early = comm_ms(n, w["early_bytes"], gbps, args.alpha_us, 1)
                late = comm_ms(n, w["bytes"] - w["early_bytes"], gbps, args.alpha_us, 1)
                exposed = max(0.0, early - w["hide_ms"]) + late
                overlapped = n * w["b"] / ((w["compute_ms"] + exposed) * 1e-3)
                mark = " **>**" if c1 > w["compute_ms"] else ""
                cells += [f"{c1:.1f} ms{mark}", f"{plain:,.0f}", f"{overlapped:,.0f}"]
            print(f"| {n} | {n * w['b']:,} | " + " | ".join(cells) + " |")
    print("\n**>**: the allreduce takes longer than the step's computation.")


if __name__ == "__main__":
    main()
