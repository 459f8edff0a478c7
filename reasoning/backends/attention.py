"""Attention for the torch backend on a CPU: a decoding step's grouped-query attention run on the key/value heads.

A model with grouped-query attention (the embedded Qwen2.5: 14 query heads, 2 key/value heads) decodes one token
per row per step. transformers' SDPA path (5.x) hands such a step to `torch.nn.functional.scaled_dot_product_attention`
with `enable_gqa=True` when no attention mask is given (an unpadded batch, a lone sequence), and packs the query onto
the key/value heads (`pack_gqa`: (rows, 14, 1, 64) -> (rows, 2, 7, 64)) when one is. On a CPU the first is about
10x slower than the second (torch 2.13, bf16, 32 rows over 301 positions: 7.7 ms against 0.8 ms a layer; 24
layers make it about half of a 32-row step; `benchmarks/forward_cost.py`), for the same numbers: each query row is still
one softmax over the same keys.

`packed_sdpa` is transformers' SDPA with one change: a one-token step with no mask gets an all-true mask of one
position row, so transformers packs its query. Everything else (prefill, parallel decoding's wider windows, masks
given) is transformers' own code. `use_packed_sdpa(model)` registers it under `NAME` (with SDPA's mask builder)
and switches the model to it, where the model runs SDPA on a CPU.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NAME", "packed_sdpa", "use_packed_sdpa"]

NAME = "reasoning_packed_sdpa"


def packed_sdpa(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> Any:
    """transformers' `sdpa_attention_forward`, its query packed onto the key/value heads in a one-token step.

    Shapes as transformers': query (rows, heads, q, head dim), key and value (rows, kv heads, positions, head dim);
    returns (output (rows, q, heads, head dim), None)."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if attention_mask is None and query.shape[2] == 1 and getattr(module, "num_key_value_groups", 1) > 1:
        attention_mask = torch.ones(1, 1, 1, key.shape[2], dtype=torch.bool, device=query.device)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def use_packed_sdpa(model: Any) -> bool:
    """Run `model`'s attention through `packed_sdpa` if it runs SDPA on a CPU; whether it does now (also after a
    second call; False for a model that keeps SDPA because it cannot switch: one not written against transformers'
    `AttentionInterface`, such as Falcon, only warns)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    if getattr(model.config, "_attn_implementation", None) == "sdpa" and model.device.type == "cpu":
        AttentionInterface.register(NAME, packed_sdpa)
        AttentionMaskInterface.register(NAME, sdpa_mask)
        model.set_attn_implementation(NAME)
    return getattr(model.config, "_attn_implementation", None) == NAME
