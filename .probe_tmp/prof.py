import sys, torch
from torch.profiler import profile, ProfilerActivity
import rnnlab.nn as rnn
torch.set_num_threads(2)
cell, task, H = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = getattr(rnn, cell)(H, H, num_layers=2, backend="scratch")
x = torch.randn(35, 20, H)
def step():
    if task == "train":
        out,_ = m(x); out.sum().backward()
    else:
        with torch.no_grad(): m(x)
for _ in range(3): step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(5): step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
