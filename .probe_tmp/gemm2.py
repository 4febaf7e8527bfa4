import torch, time, statistics, sys
torch.set_num_threads(2)
B=20; H=int(sys.argv[1]); G=4*H
h=torch.randn(B,H); w=torch.randn(G,H)*0.05; xw=torch.randn(B,G); out=torch.empty(B,G)
k=torch.randn(B,G); base=torch.randn(B,H); outh=torch.empty(B,H)
wtc=w.t().contiguous()
c={
 "fwd h@w.t()": lambda: torch.addmm(xw,h,w.t(),out=out),
 "fwd h@wtc": lambda: torch.addmm(xw,h,wtc,out=out),
 "bwd k@w": lambda: torch.addmm(base,k,w,out=outh),
 "bwd k@wtc.t()": lambda: torch.addmm(base,k,wtc.t(),out=outh),
 "bwd k@w new": lambda: torch.addmm(base,k,w),
}
ts={n:[] for n in c}
for r in range(int(sys.argv[2])):
    for n,f in c.items():
        t=time.perf_counter()
        for _ in range(20): f()
        ts[n].append((time.perf_counter()-t)/20*1e6)
for n in ts: print(n, "%.1f us"%statistics.median(ts[n]))
