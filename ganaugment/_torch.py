"""Small torch helpers shared by the tabular and image models.

Randomness never touches torch's global generator: modules are built on the
``meta`` device (which draws nothing) and then initialised from an explicit
:class:`torch.Generator`.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from ._validation import caller_stacklevel

__all__ = ["resolve_device", "build_module", "make_generator", "autocast_dtype"]


def resolve_device(device: str) -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N"`` into a usable device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'.") from None
    if resolved.type not in ("cpu", "cuda"):
        # A torch device such as "mps" or "meta" failed deep inside training (no generator, no backend).
        raise ValueError(
            f"device={device!r}: ganaugment trains on the CPU or on CUDA GPUs only; use 'auto', 'cpu' or 'cuda'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available; use device='auto' or 'cpu'.")
    return resolved


def _check_saved_weights(module: nn.Module, saved: dict) -> None:
    """Refuse saved weights that do not fit ``module`` (built on the meta device) or are not finite."""
    want = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    got = {name: tuple(t.shape) for name, t in saved.items()} if isinstance(saved, dict) else {}
    if got != want:
        name = next((n for n in want if got.get(n) != want[n]), next(iter(set(got) - set(want)), None))
        raise ValueError(
            f"The saved network weights do not fit the saved layout: {name!r} has shape {got.get(name)}, "
            f"the layout needs {want.get(name)}."
        )
    for name, tensor in saved.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"The saved network weight {name!r} holds NaN or infinite values.")


def autocast_dtype(mixed_precision, device: torch.device):
    """The autocast dtype for a ``mixed_precision`` setting on ``device`` (None: full precision).

    Warns when bf16 is asked for on a CPU that emulates it; the warning names
    the user's call (the first caller outside ganaugment and scikit-learn).
    """
    if mixed_precision is None:
        return None
    if mixed_precision == "bf16":
        if device.type == "cpu" and not cpu_has_native_bf16():
            warnings.warn(
                "mixed_precision='bf16' on a CPU without bfloat16 instructions (AVX512-BF16 or AMX): torch "
                "emulates them, and training runs several times slower than in float32 (about 7x for an Adult "
                "table, 9-12x for MNIST images on an AVX2 CPU). Use mixed_precision=None or 'auto' here.",
                RuntimeWarning,
                stacklevel=caller_stacklevel(),
            )
        return torch.bfloat16
    if mixed_precision == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None
    raise ValueError(f"mixed_precision must be None, 'auto' or 'bf16', got {mixed_precision!r}.")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 arithmetic (AVX512-BF16 or AMX); False where torch cannot tell."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def draw_rows(n_rows: int, batch_size: int, gen: torch.Generator, device, cum_weight=None) -> torch.Tensor:
    """``batch_size`` row indices below ``n_rows``: uniform, or, given ``cum_weight`` (the running sum
    of the rows' weights, float64), each row with probability proportional to its weight (a row of
    weight 0 is never drawn)."""
    if cum_weight is None:
        return torch.randint(n_rows, (batch_size,), generator=gen, device=device)
    u = torch.rand(batch_size, generator=gen, device=device, dtype=torch.float64)
    return torch.searchsorted(cum_weight, u * cum_weight[-1], right=True).clamp_(max=n_rows - 1)


def build_module(
    factory, device: torch.device, generator: torch.Generator, init: str = "default", expect: dict | None = None
) -> nn.Module:
    """Build ``factory()`` without touching global RNG, then initialise it.

    ``init="default"`` reproduces PyTorch's default layer initialisation
    (Kaiming-uniform weights, uniform biases); ``init="dcgan"`` draws
    weights from N(0, 0.02) and batch-norm scales from N(1, 0.02).
    ``expect`` (saved weights that will be loaded into the module) is checked
    before any memory is taken: a ValueError names the first tensor whose
    name or shape differs, and a weight that is not finite.
    """
    with torch.device("meta"):
        module = factory()
    if expect is not None:
        _check_saved_weights(module, expect)
    module = module.to_empty(device=device)
    with torch.no_grad():
        for layer in module.modules():
            _init_layer(layer, generator, init)
    return module


def _init_layer(layer: nn.Module, gen: torch.Generator, init: str) -> None:
    if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        weight = layer.weight
        if init == "dcgan":
            weight.normal_(0.0, 0.02, generator=gen)
            if layer.bias is not None:
                layer.bias.zero_()
            return
        fan_in = nn.init._calculate_fan_in_and_fan_out(weight)[0]
        if isinstance(layer, nn.ConvTranspose2d):
            fan_in = weight.shape[0] * weight[0][0].numel()
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        weight.uniform_(-bound, bound, generator=gen)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound, generator=gen)
    elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        layer.reset_running_stats()
        if layer.affine:
            if init == "dcgan":
                layer.weight.normal_(1.0, 0.02, generator=gen)
            else:
                layer.weight.fill_(1.0)
            layer.bias.zero_()
    elif isinstance(layer, nn.LayerNorm) and layer.elementwise_affine:
        layer.weight.fill_(1.0)
        layer.bias.zero_()
