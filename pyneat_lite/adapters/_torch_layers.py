"""The PyTorch adapter's mapping of convolution, pooling and recurrent
modules to and from a network of :mod:`pyneat_lite.layers` (private; the
public entry points are :func:`pyneat_lite.adapters.torch.from_module` and
:func:`~pyneat_lite.adapters.torch.to_module`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import missing_framework

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised with torch hidden
    raise missing_framework("torch", "PyTorch", "torch") from exc

from ..network import Network


def _flatten_sequential(model: nn.Module) -> list[nn.Module]:
    out: list[nn.Module] = []
    for child in model.children():
        if type(child) is nn.Sequential:
            out.extend(_flatten_sequential(child))
        else:
            out.append(child)
    return out


_LAYERED_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.RNN, nn.GRU, nn.ZeroPad2d)


def _is_layered(model: Any) -> bool:
    if not isinstance(model, nn.Sequential):
        return False
    mods = _flatten_sequential(model)
    return any(isinstance(m, _LAYERED_TYPES) for m in mods) or any(
        type(m) is nn.Flatten for m in mods[1:])


def _pair_of(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _from_layered(model: nn.Module, input_shape: Any,
                  caller: str) -> tuple[Network, np.ndarray]:
    """Network and genome of a Sequential with convolution, pooling or
    recurrent modules."""
    # torch.py imports this module, so its names are imported when called
    from .. import layers as lyr
    from .torch import _activation_name, _Torch

    mods = _flatten_sequential(model)
    specs: list[Any] = []
    params: list[tuple[np.ndarray, np.ndarray]] = []
    pad_before: tuple[int, int, int, int] | None = None
    i = 0

    def bad(j: int, why: str) -> TypeError:
        return TypeError(f"The 'model' argument of {caller}: module {j} "
                         f"({mods[j]!r}) {why}")

    def activation_after(j: int) -> str:
        if j + 1 < len(mods) and _activation_name(mods[j + 1]) is not None \
                and type(mods[j + 1]) is not nn.Identity:
            return _activation_name(mods[j + 1])  # type: ignore[return-value]
        return "linear"

    while i < len(mods):
        m = mods[i]
        t = type(m)
        if t is nn.Identity:
            i += 1
            continue
        if t is nn.ZeroPad2d:
            pad_before = tuple(int(v) for v in m.padding)  # type: ignore[assignment]
            if i + 1 >= len(mods) or type(mods[i + 1]) is not nn.Conv2d:
                raise bad(i, "must be followed by a Conv2d.")
            i += 1
            continue
        if t is nn.Conv2d:
            if m.groups != 1 or tuple(m.dilation) != (1, 1) or m.bias is None \
                    or m.padding_mode != "zeros":
                raise bad(i, "must have groups=1, dilation=1, a bias and zero "
                             "padding.")
            kernel, stride = _pair_of(m.kernel_size), _pair_of(m.stride)
            if isinstance(m.padding, str):
                pad: Any = m.padding
            elif m.padding[0] != m.padding[1]:
                raise bad(i, "must pad both axes alike.")
            else:
                pad = int(m.padding[0])
            if pad_before is not None:
                if pad not in (0, "valid"):
                    raise bad(i, "after ZeroPad2d must have padding 0.")
                pl, pr, pt, pb = pad_before
                # an equal padding, or TensorFlow's "same" (checked below)
                pad = pl if pl == pr == pt == pb else "same"
                pad_before_used = pad_before
                pad_before = None
            else:
                pad_before_used = None
            act = activation_after(i)
            if act == "softmax":
                raise bad(i + 1, "softmax cannot follow a Conv2d.")
            spec = lyr.Conv2D(m.out_channels, kernel, stride, pad, act)
            specs.append(spec)
            if pad_before_used is not None and pad == "same":
                _check_same_pad(specs, input_shape, pad_before_used, i, bad)
            w = m.weight.detach().cpu().to(torch.float32).numpy()
            params.append((w.reshape(w.shape[0], -1).T.copy(),
                           m.bias.detach().cpu().to(torch.float32).numpy().copy()))
            i += 2 if act != "linear" else 1
            continue
        if t in (nn.MaxPool2d, nn.AvgPool2d):
            ok = _pair_of(m.padding) == (0, 0) and not m.ceil_mode
            if t is nn.MaxPool2d:
                ok = ok and _pair_of(m.dilation) == (1, 1) and not m.return_indices
            else:
                ok = ok and m.divisor_override is None
            if not ok:
                raise bad(i, "must have no padding and ceil_mode=False (and "
                             "dilation 1).")
            cls = lyr.MaxPool2D if t is nn.MaxPool2d else lyr.AvgPool2D
            specs.append(cls(_pair_of(m.kernel_size), _pair_of(m.stride)))
            i += 1
            continue
        if t is nn.Flatten:
            if m.start_dim != 1 or m.end_dim != -1:
                raise bad(i, "must be Flatten(start_dim=1, end_dim=-1).")
            specs.append(lyr.Flatten())
            i += 1
            continue
        if t is nn.Linear:
            if m.bias is None:
                raise bad(i, "has no bias, which the layout does not support.")
            act = activation_after(i)
            specs.append(lyr.Dense(m.out_features, act))
            params.append((m.weight.detach().cpu().to(torch.float32).numpy().T.copy(),
                           m.bias.detach().cpu().to(torch.float32).numpy().copy()))
            i += 2 if act != "linear" else 1
            continue
        if t in (nn.RNN, nn.GRU):
            if m.num_layers != 1 or not m.batch_first or m.bidirectional \
                    or not m.bias or getattr(m, "proj_size", 0):
                raise bad(i, "must have num_layers=1, batch_first=True, bias=True "
                             "and be unidirectional.")
            rd = {k: v.detach().cpu().to(torch.float32).numpy()
                  for k, v in m.named_parameters()}
            W = np.concatenate([rd["weight_ih_l0"].T, rd["weight_hh_l0"].T])
            if t is nn.RNN:
                specs.append(lyr.RNN(m.hidden_size, m.nonlinearity))
                b = rd["bias_ih_l0"] + rd["bias_hh_l0"]
            else:
                specs.append(lyr.GRU(m.hidden_size))
                b = np.concatenate([rd["bias_ih_l0"], rd["bias_hh_l0"]])
            params.append((np.ascontiguousarray(W), b))
            i += 1
            continue
        raise bad(i, "is not supported here: Linear, Conv2d, MaxPool2d, AvgPool2d, "
                     "Flatten, ZeroPad2d, RNN and GRU, each Linear or Conv2d "
                     f"followed by at most one activation ({_Torch.supported}).")
    first = next(m for m in mods if not isinstance(m, nn.ZeroPad2d))
    if isinstance(first, nn.Linear):
        shape: Any = first.in_features
    elif isinstance(first, (nn.RNN, nn.GRU)):
        shape = first.input_size
    else:
        if input_shape is None:
            raise TypeError(
                f"The 'input_shape' argument of {caller} is required for a model "
                f"that starts with {type(first).__name__} (a convolution or "
                "pooling does not know its image size): (C, H, W)."
            )
        shape = input_shape
    if input_shape is not None and tuple(np.atleast_1d(input_shape)) != tuple(
            np.atleast_1d(shape)):
        raise ValueError(
            f"The 'input_shape' argument of {caller} must match the model's first "
            f"layer ({shape}). Got {input_shape!r} instead."
        )
    net = Network(layers=specs, input_shape=shape)
    for k, lay in enumerate(net.layout):
        if params[k][0].shape != lay.w_shape:
            raise ValueError(
                f"The 'model' argument of {caller}: the layer with parameters number "
                f"{k} takes {params[k][0].shape[0]} inputs but the previous layers "
                f"give {lay.w_shape[0]} (input_shape {shape})."
            )
    return net, net.flatten(params)


def _check_same_pad(specs: list[Any], input_shape: Any,
                    pads: tuple[int, int, int, int], j: int, bad: Any) -> None:
    """A ZeroPad2d + Conv2d read as "same" must pad as "same" does."""
    if input_shape is None:
        raise TypeError("The 'input_shape' argument of from_module is required "
                        "for a model with an asymmetric ZeroPad2d.")
    probe = Network(layers=specs, input_shape=input_shape)
    m = probe.meta[-1]
    h, w = int(m[2]), int(m[3])
    oh, ow = int(m[5]), int(m[6])
    kh, kw, sh, sw = (int(v) for v in m[7:11])
    want = (int(m[12]), (ow - 1) * sw + kw - w - int(m[12]),
            int(m[11]), (oh - 1) * sh + kh - h - int(m[11]))
    if tuple(pads) != want:
        raise bad(j, f"after ZeroPad2d{tuple(pads)} is neither an equal padding nor "
                     f"'same' ({want}).")


def _to_layered(net: Network, genome: Any, caller: str) -> nn.Module:
    """Torch modules computing a layered network (see :func:`to_module`)."""
    from .. import layers as lyr
    from .._validation import check_genome
    from .torch import RecurrentSequential, _activation_module

    genome = check_genome(genome, caller=caller, n_params=net.n_params)
    weights = iter(net.unflatten(genome))
    meta = iter(net.meta)
    mods: list[nn.Module] = []
    shape = net.input_shape
    for lay in net.layers:
        if isinstance(lay, lyr.Flatten):
            mods.append(nn.Flatten())
            continue
        m = next(meta)
        if isinstance(lay, lyr.Conv2D):
            W, b = next(weights)
            cin, cout = int(m[1]), lay.channels
            pad: Any = lay.padding
            if pad == "same" and lay.stride != (1, 1):
                h, w = int(m[2]), int(m[3])
                oh, ow = int(m[5]), int(m[6])
                (kh, kw), (sh, sw) = lay.kernel, lay.stride
                pt, pl = int(m[11]), int(m[12])
                mods.append(nn.ZeroPad2d((pl, (ow - 1) * sw + kw - w - pl, pt,
                                          (oh - 1) * sh + kh - h - pt)))
                pad = 0
            conv = nn.Conv2d(cin, cout, lay.kernel, lay.stride, pad)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(
                    W.T.reshape(cout, cin, *lay.kernel))))
                conv.bias.copy_(torch.from_numpy(b.copy()))
            mods.append(conv)
        elif isinstance(lay, (lyr.MaxPool2D, lyr.AvgPool2D)):
            cls = nn.MaxPool2d if isinstance(lay, lyr.MaxPool2D) else nn.AvgPool2d
            mods.append(cls(lay.size, lay.stride))
            continue
        elif isinstance(lay, lyr.Dense):
            W, b = next(weights)
            lin = nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                lin.bias.copy_(torch.from_numpy(b.copy()))
            mods.append(lin)
        else:  # RNN, GRU
            W, b = next(weights)
            n_in = int(m[1])
            if isinstance(lay, lyr.RNN):
                if lay.activation not in ("tanh", "relu"):
                    raise ValueError(
                        f"The 'net' argument of {caller}: torch.nn.RNN has only tanh "
                        f"and relu; this RNN layer uses {lay.activation!r}."
                    )
                rec: nn.Module = nn.RNN(n_in, lay.units, nonlinearity=lay.activation,
                                        batch_first=True)
                b_ih, b_hh = b, np.zeros_like(b)
            else:
                rec = nn.GRU(n_in, lay.units, batch_first=True)
                b_ih, b_hh = b[: b.size // 2], b[b.size // 2:]
            with torch.no_grad():
                rec.weight_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(
                    W[:n_in].T)))
                rec.weight_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(
                    W[n_in:].T)))
                rec.bias_ih_l0.copy_(torch.from_numpy(b_ih.copy()))
                rec.bias_hh_l0.copy_(torch.from_numpy(b_hh.copy()))
            mods.append(rec)
            continue
        act = _activation_module(lay.activation)
        if act is not None:
            mods.append(act)
    assert shape is not None
    if net.recurrent:
        return RecurrentSequential(*mods)
    return nn.Sequential(*mods)
