"""Linear layers for the fast CPU forward: weights stored int4, int8, bf16 or f32, an optional
LoRA side path, and one call ``layer(x)`` whatever the storage.

Why int4 by default: decoding one token reads every weight once, and on this kind of machine
that read, not the arithmetic, sets the speed (SmolLM2-135M's layers, weights cold in cache,
one core: int4 ~7 ms a token, int8 ~14 ms, bf16 ~25 ms). The base model ships as GGUF Q4_1
(groups of 32, a scale and a minimum each), so re-packing its de-quantized weights with the
same grouping gives back the same values (up to rounding of the scales): int4 costs it no
quality.

A LoRA adapter is NOT merged into int4 weights (its small update would be rounded away): it
runs beside them as two thin matmuls, ``y += (x A^T) B^T`` with the scaling folded into B.

The weight-only int8/int4 kernels multiply a few rows at a time; for a long prompt the
weights are expanded to bf16 once per call and a regular GEMM does the work.

``state()``/``from_state()`` give portable tensors (4-bit values two to a byte, fp32 scales)
for the on-disk cache; the kernel's own packed layout is rebuilt at load.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FORMATS = ("int4", "int8", "bf16", "f32")
GROUP = 32  # int4 group size along the input dimension, as GGUF Q4_0/Q4_1
INT4_MAX_ROWS = 16  # above: the bf16 expansion (kept) + GEMM; measured crossover ~16 rows
INT8_MAX_ROWS = 24


_INT4_MM = getattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu", None)
_INT8_MM = torch._weight_int8pack_mm


def act_dtype(fmt: str) -> torch.dtype:
    """Activation dtype the matmuls of a format take."""
    return torch.float32 if fmt == "f32" else torch.bfloat16


def int4_available() -> bool:
    return hasattr(torch.ops.aten, "_convert_weight_to_int4pack_for_cpu") and \
        hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu")


class Linear:
    """y = x W^T (+ b) (+ LoRA). Build with ``Linear.quantize(weight, bias, fmt)``."""

    def __init__(self, fmt: str, tensors: dict[str, torch.Tensor]):
        self.fmt = fmt
        self.act = act_dtype(fmt)
        self.tensors = tensors  # the portable form, what state() saves
        bias = tensors.get("bias")
        self.bias = None if bias is None else bias.to(self.act)
        self.lora: tuple[torch.Tensor, torch.Tensor] | None = None
        self.w = None
        self._dense: torch.Tensor | None = None  # bf16 expansion of int4/int8 weights, built on first use
        if fmt == "int4":
            nibbles, scale, low = tensors["nibbles"], tensors["scale"], tensors["low"]
            n = nibbles.shape[0]
            q = torch.stack([nibbles & 15, nibbles >> 4], -1).view(n, -1)
            self.packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q.to(torch.int32), 1)
            # the kernel computes (q - 8) * scale + zero, per group and output row
            self.scales_zeros = torch.stack([scale.t(), (low + 8 * scale).t()], -1).to(torch.bfloat16).contiguous()
            self.scale4 = scale.float()[..., None]
            self.low4 = low.float()[..., None]
        elif fmt == "int8":
            self.scale8 = tensors["scale"].to(torch.bfloat16)
        else:
            self.w = tensors["weight"].to(self.act).contiguous()
        self._choose_one()

    @classmethod
    def quantize(cls, weight: torch.Tensor, bias: torch.Tensor | None, fmt: str) -> Linear:
        """``weight`` (out, in) float in the format ``fmt``; int4 falls back to int8 where the
        input size is not a multiple of 32 or this torch lacks the kernel."""
        if fmt not in FORMATS:
            raise ValueError(f"weights must be one of {FORMATS}, got {fmt!r}")
        weight = weight.detach().float()
        n, k = weight.shape
        if fmt == "int4" and (k % GROUP or not int4_available()):
            fmt = "int8"
        tensors: dict[str, torch.Tensor] = {}
        if bias is not None:
            tensors["bias"] = bias.detach().float()
        if fmt == "int4":
            groups = weight.view(n, k // GROUP, GROUP)
            low, high = groups.amin(-1), groups.amax(-1)
            scale = ((high - low) / 15).clamp(min=1e-10)
            q = torch.round((groups - low[..., None]) / scale[..., None]).clamp(0, 15).to(torch.uint8).view(n, k)
            tensors.update(nibbles=(q[:, 0::2] | (q[:, 1::2] << 4)).contiguous(), scale=scale, low=low)
        elif fmt == "int8":
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            q8 = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            tensors.update(q8=q8, scale=scale)
        else:
            tensors["weight"] = weight.to(act_dtype(fmt))
        return cls(fmt, tensors)

    @property
    def out_features(self) -> int:
        for key in ("nibbles", "q8", "weight"):
            if key in self.tensors:
                return self.tensors[key].shape[0]
        raise KeyError("no weight")

    @property
    def in_features(self) -> int:
        if "nibbles" in self.tensors:
            return self.tensors["nibbles"].shape[1] * 2
        return self.tensors["q8" if "q8" in self.tensors else "weight"].shape[1]

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}.{self.fmt}.{k}": v for k, v in self.tensors.items()}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], prefix: str) -> Linear:
        for fmt in FORMATS:
            head = f"{prefix}.{fmt}."
            tensors = {k[len(head):]: v for k, v in state.items() if k.startswith(head)}
            if tensors:
                return cls(fmt, tensors)
        raise KeyError(f"no weights for {prefix}")

    def set_lora(self, a: torch.Tensor, b: torch.Tensor) -> None:
        """Run LoRA factors (A: r x in, B: out x r, scaling folded in) beside the weight."""
        self.lora = (a.detach().to(self.act).contiguous(), b.detach().to(self.act).contiguous())
        self._choose_one()

    def clear_lora(self) -> None:
        self.lora = None
        self._choose_one()

    def dense(self) -> torch.Tensor:
        """The weight as a dense (out, in) tensor in the activation dtype. Expanded once and
        kept: expanding every layer took ~230 ms a call, more than the GEMM of a 55-token
        follow-up it served (SmolLM2-135M, 2 threads); the copy costs ~2 bytes a weight."""
        if self.w is not None:
            return self.w
        if self._dense is None:
            self._dense = self._expand()
        return self._dense

    def _expand(self) -> torch.Tensor:
        if self.fmt == "int8":
            return (self.tensors["q8"].float() * self.tensors["scale"][:, None]).to(torch.bfloat16)
        nibbles = self.tensors["nibbles"]
        q = torch.stack([nibbles & 15, nibbles >> 4], -1).view(nibbles.shape[0], -1, GROUP)
        # in fp32, rounded to bf16 once at the end: low + q * scale done in bf16 rounds twice
        # with an error shared by the whole group, which shifts logits visibly
        w = torch.addcmul(self.low4, q.to(torch.float32), self.scale4)
        return w.view(nibbles.shape[0], -1).to(torch.bfloat16)

    def _int4_one(self, x: torch.Tensor) -> torch.Tensor:
        return _INT4_MM(x, self.packed, GROUP, self.scales_zeros)

    def _int8_one(self, x: torch.Tensor) -> torch.Tensor:
        return _INT8_MM(x, self.tensors["q8"], self.scale8)

    def _choose_one(self) -> None:
        # The decode loop calls ``one`` for a single row ~120 times a token: for a plain
        # weight-only layer it is the kernel itself, without the branching of __call__.
        self.one = self.__call__
        if self.lora is None and self.bias is None:
            if self.fmt == "int4":
                self.one = self._int4_one
            elif self.fmt == "int8":
                self.one = self._int8_one

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[0]
        if self.w is not None:
            y = F.linear(x, self.w, self.bias)
        elif self.fmt == "int4" and rows <= INT4_MAX_ROWS:
            y = _INT4_MM(x, self.packed, GROUP, self.scales_zeros)
            if self.bias is not None:
                y = y + self.bias
        elif self.fmt == "int8" and rows <= INT8_MAX_ROWS:
            y = torch._weight_int8pack_mm(x, self.tensors["q8"], self.scale8)
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
