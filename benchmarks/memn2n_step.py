"""Time MemN2N training steps on bAbI 1k joint.

    python benchmarks/memn2n_step.py [THREADS] [--batch N] [--profile]

Prints milliseconds per step (batch 32 unless ``--batch``; forward + backward + clip + SGD
step) and training examples per second, median of 5 passes over 100 batches, after 20
warm-up steps. ``--profile`` then runs 100 more steps under ``torch.profiler`` and prints the
operators by self CPU time: where a step's time goes. Needs bAbI in the ``babi`` folder under
``AMKIT_DATA`` (``amkit data where``).
"""

import argparse
import statistics
import time

import torch

from amkit.data.base import iterate_batches, model_inputs
from amkit.experiments.run import build_data, build_model_for, load_config
from amkit.train.trainer import clip_gradients

parser = argparse.ArgumentParser()
parser.add_argument("threads", nargs="?", type=int, default=2)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--profile", action="store_true")
args = parser.parse_args()
torch.set_num_threads(args.threads)
config = load_config("configs/babi/memn2n_1k_joint.yaml")
data = build_data(config)
model = build_model_for(config, data)
optimizer = torch.optim.SGD(model.parameters(), lr=config.train.lr)
generator = torch.Generator().manual_seed(0)
batches = list(iterate_batches(data.split("train"), args.batch, shuffle=True, generator=generator))


def step(batch):
    out = model(**model_inputs(batch))
    optimizer.zero_grad()
    out.loss.backward()
    clip_gradients(model.parameters(), config.train.clip_grad_norm, config.train.clip_mode)
    optimizer.step()


for batch in batches[:20]:
    step(batch)
times = []
for _ in range(5):
    started = time.perf_counter()
    for batch in batches[20:120]:
        step(batch)
    times.append((time.perf_counter() - started) / 100)
ms = 1000 * statistics.median(times)
print(
    f"threads {args.threads}, batch {args.batch}: {ms:.2f} ms/step, "
    f"{args.batch / ms * 1000:.0f} training examples/s, {len(batches)} steps per epoch -> "
    f"{len(batches) * ms / 1000:.1f} s/epoch of training"
)
if args.profile:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[20:120]:
            step(batch)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
