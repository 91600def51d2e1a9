"""Calibration probe (not product code): which CUDA kernels each attention backend launches."""
import json, os, sys, time
import torch, torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile

out = {}
dev = "cuda"
import re
ATTN = re.compile(r"attn|attention|fmha|flash|sdpa|cudnn|softmax|triton|cutlass|sm90|xmma", re.I)
def kernels(fn):
    fn(); torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn(); torch.cuda.synchronize()
    names = {}
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            t = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0) or 0
            names[e.name] = names.get(e.name, 0) + t
    top = sorted(names.items(), key=lambda x: -x[1])
    return {"top": [n[:160] for n, _ in top[:4]], "attn": [n[:200] for n, _ in top if ATTN.search(n)][:6]}

shapes = {"frame": (20, 16, 930, 64), "global": (1, 16, 18600, 64)}
kinds = {"default": None, "math": SDPBackend.MATH, "efficient": SDPBackend.EFFICIENT_ATTENTION,
         "flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}
for sname, shape in shapes.items():
    q, k, v = (torch.randn(shape, device=dev, dtype=torch.bfloat16) for _ in range(3))
    for name, kind in kinds.items():
        def call():
            if kind is None: return F.scaled_dot_product_attention(q, k, v)
            with sdpa_kernel(kind): return F.scaled_dot_product_attention(q, k, v)
        try: out[f"sdpa-{name}/{sname}"] = kernels(call)
        except Exception as e: out[f"sdpa-{name}/{sname}"] = f"ERR {e}"[:200]
    # flex
    try:
        from torch.nn.attention.flex_attention import flex_attention
        t = time.perf_counter(); fx = torch.compile(flex_attention, dynamic=False)
        fx(q, k, v); torch.cuda.synchronize(); ct = time.perf_counter() - t
        out[f"flex/{sname}"] = {"compile_s": ct, "kernels": kernels(lambda: fx(q, k, v))}
        ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
        out[f"flex/{sname}"]["max_abs_err"] = (fx(q, k, v).float() - ref).abs().max().item()
    except Exception as e: out[f"flex/{sname}"] = f"ERR {type(e).__name__} {e}"[:300]
# mixed dtypes like VGGT under autocast: q,k fp32, v bf16
q, k = (torch.randn(shapes["frame"], device=dev) for _ in range(2)); v = torch.randn(shapes["frame"], device=dev, dtype=torch.bfloat16)
with torch.autocast("cuda", dtype=torch.bfloat16):
    out["autocast-mixed/default"] = kernels(lambda: F.scaled_dot_product_attention(q, k, v))
    out["autocast-dtype"] = str(F.scaled_dot_product_attention(q, k, v).dtype)
sys.path.insert(0, os.environ.get("PEER", ".peer"))
from vggt.models.vggt import VGGT
agg = VGGT().aggregator.to(dev, torch.bfloat16).eval()
img = torch.rand(1, 4, 3, 350, 518, device=dev)
for name, kind in kinds.items():
    if name == "math": continue
    def fwd():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            if kind is None: return agg(img)
            with sdpa_kernel(kind): return agg(img)
    ks = kernels(fwd)
    out[f"aggregator-4f/sdpa-{name}"] = ks
json.dump(out, open(os.path.join(os.environ["OUT"], "kernels.json"), "w"), indent=1)
for k, v in out.items(): print(k, json.dumps(v)[:600])
