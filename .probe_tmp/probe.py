import sys, torch, time, statistics
from rnnlab.benchmark import _build, _step_fn, _measure, SHAPES
torch.set_num_threads(2)
cells = sys.argv[1].split(",")
shapes = [SHAPES[int(i)] for i in sys.argv[2].split(",")]
tasks = sys.argv[3].split(",")
reps = int(sys.argv[4])
for cell in cells:
    for sh in shapes:
        mods = _build(cell, sh, torch.device("cpu"))
        x = torch.randn(sh.steps, sh.batch, sh.hidden)
        for task in tasks:
            steps = {n: _step_fn(m, x, task == "train") for n, m in mods.items()}
            s = _measure(steps, torch.device("cpu"), 2, reps)
            print(cell, sh.name, task, {k: f"{v*1e3:.1f}ms" for k, v in s.items()}, "scratch x%.2f" % (s["torch"]/s["scratch"]), "auto x%.2f" % (s["torch"]/s["auto"]), flush=True)
