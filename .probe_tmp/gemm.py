import torch, time, statistics
torch.set_num_threads(2)
B,H=20,200
import sys
if len(sys.argv)>1: H=int(sys.argv[1])
G=4*H
h=torch.randn(B,H); w=torch.randn(G,H)*0.05; b=torch.randn(G); xw=torch.randn(B,G); out=torch.empty(B,G)
cands={}
cands["addmm_out"]=lambda: torch.addmm(xw,h,w.t(),out=out)
cands["mm"]=lambda: torch.mm(h,w.t())
wt_c=w.t().contiguous()
cands["addmm_out_wtc"]=lambda: torch.addmm(xw,h,wt_c,out=out)
try:
    pw=torch.ops.mkl._mkl_reorder_linear_weight(w,B)
    cands["mkl_packed"]=lambda: torch.ops.mkl._mkl_linear(h,pw,w,b,B)
except Exception as e: print("mkl", repr(e)[:200])
try:
    pw2=torch.ops.mkldnn._reorder_linear_weight(w, B)
    print(type(pw2), pw2.is_mkldnn if hasattr(pw2,'is_mkldnn') else None)
    cands["mkldnn_lp"]=lambda: torch.ops.mkldnn._linear_pointwise(h,pw2,b,"none",[],"")
    cands["mkldnn_lp_add"]=lambda: torch.ops.mkldnn._linear_pointwise.binary(h,xw,pw2,b,"add")
except Exception as e: print("mkldnn", repr(e)[:300])
try:
    cands["mkldnn_lp_unpacked"]=lambda: torch.ops.mkldnn._linear_pointwise(h,w,b,"none",[],"")
except Exception as e: print("mkldnn2", repr(e)[:300])
for k,f in list(cands.items()):
    try: f()
    except Exception as e: print(k, repr(e)[:300]); del cands[k]
ts={k:[] for k in cands}
for r in range(30):
    for k,f in cands.items():
        t=time.perf_counter()
        for _ in range(50): f()
        ts[k].append((time.perf_counter()-t)/50*1e6)
for k in ts: print(k, "%.1f us"%statistics.median(ts[k]))
