"""Linear layers for the fast CPU forward: weights stored int4, int8, bf16 or f32, an optional
LoRA side path, and one call ``layer(x)`` whatever the storage.

Why int4 by default: decoding one token reads every weight once, and on this kind of machine
that read, not the arithmetic, sets the speed (int4: ~7 ms a token for SmolLM2-135M's layers
on one core, int8: ~14 ms, bf16: ~25 ms, weights cold in cache). The base model ships as GGUF
Q4_1 (groups of 32, a scale and a minimum each), so re-packing its de-quantized weights with
the same grouping gives back the same values (up to bf16 scales): int4 costs it no quality.

A LoRA adapter is NOT merged into int4 weights (that would round its small update away):
it runs beside them as two thin matmuls, ``y += (x A^T) B^T`` with the scaling folded into B.

The weight-only int8/int4 kernels multiply a few rows at a time; for a long prompt the
weights are expanded to bf16 once per call and a regular GEMM does the work.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FORMATS = ("int4", "int8", "bf16", "f32")
GROUP = 32  # int4 group size along the input dimension, as GGUF Q4_0/Q4_1
INT4_MAX_ROWS = 32  # above: expand to bf16 + GEMM (measured crossover ~35 rows)
INT8_MAX_ROWS = 24


def act_dtype(fmt: str) -> torch.dtype:
    """Activation dtype the matmuls of a format take."""
    return torch.float32 if fmt == "f32" else torch.bfloat16


def int4_available() -> bool:
    return hasattr(torch.ops.aten, "_convert_weight_to_int4pack_for_cpu") and \
        hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu")


class Linear:
    """y = x W^T (+ b) (+ LoRA). ``weight`` is (out, in) float; ``lora`` is (A: r x in,
    B: out x r, scaling already in B) or None."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, fmt: str,
                 lora: tuple[torch.Tensor, torch.Tensor] | None = None):
        if fmt not in FORMATS:
            raise ValueError(f"weights must be one of {FORMATS}, got {fmt!r}")
        weight = weight.detach().float()
        out_features, in_features = weight.shape
        if fmt == "int4" and (in_features % GROUP or not int4_available()):
            fmt = "int8"
        self.fmt = fmt
        self.act = act_dtype(fmt)
        self.bias = None if bias is None else bias.detach().to(self.act)
        self.lora = None
        if lora is not None:
            a, b = lora
            self.lora = (a.detach().to(self.act).contiguous(), b.detach().to(self.act).contiguous())
        self.w = None
        if fmt == "int4":
            self._pack_int4(weight)
        elif fmt == "int8":
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            self.q8 = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            self.scale8 = scale.to(torch.bfloat16)
        else:
            self.w = weight.to(self.act).contiguous()

    def _pack_int4(self, weight: torch.Tensor) -> None:
        n, k = weight.shape
        groups = weight.view(n, k // GROUP, GROUP)
        low, high = groups.amin(-1), groups.amax(-1)
        scale = ((high - low) / 15).clamp(min=1e-10)
        q = torch.round((groups - low[..., None]) / scale[..., None]).clamp(0, 15).to(torch.uint8)
        # the kernel computes (q - 8) * scale + zero, per group and output row
        self.scales_zeros = torch.stack([scale.t(), (low + 8 * scale).t()], -1).to(torch.bfloat16).contiguous()
        self.packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q.view(n, k).to(torch.int32), 1)
        # The same values two to a byte, to expand for long prompts (the kernel's own packed
        # layout is private to it).
        q = q.view(n, k)
        self.nibbles = (q[:, 0::2] | (q[:, 1::2] << 4)).contiguous()
        self.scale4 = scale.to(torch.bfloat16)[..., None]
        self.low4 = low.to(torch.bfloat16)[..., None]

    def dense(self) -> torch.Tensor:
        """The weight as a dense (out, in) tensor in the activation dtype."""
        if self.w is not None:
            return self.w
        if self.fmt == "int8":
            return self.q8.to(torch.bfloat16) * self.scale8[:, None]
        n = self.nibbles.shape[0]
        q = torch.stack([self.nibbles & 15, self.nibbles >> 4], -1).view(n, -1, GROUP)
        return torch.addcmul(self.low4, q.to(torch.bfloat16), self.scale4).view(n, -1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[0]
        if self.w is not None:
            y = F.linear(x, self.w, self.bias)
        elif self.fmt == "int4" and rows <= INT4_MAX_ROWS:
            y = torch.ops.aten._weight_int4pack_mm_for_cpu(x, self.packed, GROUP, self.scales_zeros)
            if self.bias is not None:
                y = y + self.bias
        elif self.fmt == "int8" and rows <= INT8_MAX_ROWS:
            y = torch._weight_int8pack_mm(x, self.q8, self.scale8)
            if self.bias is not None:
                y = y + self.bias
        else:
            y = F.linear(x, self.dense(), self.bias)
        if self.lora is not None:
            a, b = self.lora
            y = torch.addmm(y, torch.mm(x, a.t()), b.t())
        return y


def fuse_lora(parts: list[tuple[int, tuple[torch.Tensor, torch.Tensor] | None]]):
    """LoRA factors of several projections fused into one matmul (their outputs concatenated):
    ``parts`` lists (out_features, (A, B) or None) per projection. A is stacked; B is block
    diagonal, zero where a projection has no adapter."""
    present = [lora for _, lora in parts if lora is not None]
    if not present:
        return None
    a = torch.cat([lora[0].detach().float() for lora in present])
    b = torch.zeros(sum(out for out, _ in parts), a.shape[0])
    row = col = 0
    for out, lora in parts:
        if lora is not None:
            r = lora[0].shape[0]
            b[row:row + out, col:col + r] = lora[1].detach().float()
            col += r
        row += out
    return a, b
