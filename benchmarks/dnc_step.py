"""Time DNC training steps at a given size, on random inputs (no data needed).

    python benchmarks/dnc_step.py [THREADS] [--size paper|cpu] [--steps T] [--batch B]
                                  [--links on|off]

``paper``: LSTM 256, memory 256 x 64, 4 read heads, temporal links (configs/babi/
dnc_10k_joint.yaml); ``cpu``: LSTM 128, memory 64 x 32, 4 read heads, layer norms, no links
(dnc_1k_joint.yaml). Prints seconds per training step (forward over T steps, backward,
RMSProp), the median of 3 after one warm-up step, and what one epoch of bAbI 10k joint
(5,625 batches of 32) would take at that rate.
"""

import argparse
import statistics
import time

import torch

from amkit.memory.dnc import DNC

SIZES = {
    "paper": {"hidden_size": 256, "memory_slots": 256, "word_size": 64, "read_heads": 4},
    "cpu": {
        "hidden_size": 128,
        "memory_slots": 64,
        "word_size": 32,
        "read_heads": 4,
        "controller_norm": True,
        "interface_norm": True,
        "links": False,
    },
}
BATCHES_PER_10K_EPOCH = 20 * 9000 // 32

parser = argparse.ArgumentParser()
parser.add_argument("threads", nargs="?", type=int, default=1)
parser.add_argument("--size", choices=sorted(SIZES), default="paper")
parser.add_argument("--steps", type=int, default=80, help="time steps per story (words)")
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--links", choices=["on", "off"], help="override the size's temporal links")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
vocab = 180
size = dict(SIZES[args.size])
if args.links is not None:
    size["links"] = args.links == "on"
dnc = DNC(64, vocab, **size)
optimizer = torch.optim.RMSprop(dnc.parameters(), lr=1e-4, momentum=0.9)
inputs = torch.randn(args.batch, args.steps, 64)
targets = torch.randint(0, vocab, (args.batch,))


def step() -> float:
    started = time.perf_counter()
    outputs, _, _ = dnc(inputs)
    loss = torch.nn.functional.cross_entropy(outputs[:, -1], targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - started


step()
seconds = statistics.median(step() for _ in range(3))
links = "on" if size.get("links", True) else "off"
print(
    f"DNC {args.size} (links {links}), threads {args.threads}, "
    f"batch {args.batch} x {args.steps} steps: "
    f"{seconds:.3f} s per training step -> {seconds * BATCHES_PER_10K_EPOCH / 3600:.1f} h per "
    "bAbI 10k joint epoch"
)
