"""One intra-op thread per test process: on a small shared CI machine (2 cores) two OpenMP
threads competing with another process run several times slower than one."""

import torch

torch.set_num_threads(1)
