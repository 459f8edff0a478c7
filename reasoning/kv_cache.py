"""A KV cache layer that appends in place: room for the next positions is kept, so a decoding step writes its new
keys and values instead of copying the whole cache.

transformers' `DynamicLayer` appends each step's keys and values with `torch.cat`, a new tensor holding every
position of every row: per step, 2 x layers copies of (rows, kv heads, positions, head dim). For the embedded model
in bf16 with 16 rows of ~300 positions that is ~7.5 ms for the keys alone (15 ms with the values) of a ~140 ms step,
and it grows with rows and positions (`benchmarks/forward_cost.py`, part 2). `SpareLayer` keeps its keys and values
in a buffer with `spare` positions to spare; `keys` and `values` are views of its first `length` positions, so
attention reads exactly what a `DynamicLayer` would hold (the same numbers, a longer stride), and a step's new
positions are written into the room left. When the room is used up, or when someone replaced `keys` (the batched
decoder pads, joins and drops rows by assigning new tensors), the next update copies into a new buffer, as `cat`
does every time.

A view handed out before a `crop` may see positions written after it: only the model's own forward reads them (each
step asks `update` again), which is how the decoders here use a cache. transformers' `StaticCache` writes in place
too, but attends over all its `max_cache_len` positions (masked) at every step, which costs more than it saves at
these lengths (`forward_cost.py`).

This module imports transformers: import it where the torch backend is installed (`reasoning-toolkit[local]`).
"""

from __future__ import annotations

from typing import Any

from transformers.cache_utils import DynamicLayer

__all__ = ["SpareLayer", "append_in_place"]

SPARE = 64  # positions of room: a buffer is copied once per 64 steps of a batch that nobody joins or leaves


class SpareLayer(DynamicLayer):  # type: ignore[no-untyped-call]  # transformers is untyped
    """A `DynamicLayer` whose `update` writes into room kept after its positions (see the module doc).

    `keys`, `values`: (rows, kv heads, positions, head dim) views of the buffers' first positions. Assigning them
    (as `crop`, `batch_select_indices` and the batched decoder do) is allowed: the next `update` sees they are no
    longer views of the buffers and copies them into new ones."""

    def __init__(self, spare: int = SPARE) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.spare = spare
        self._buffers: tuple[Any, Any] | None = None  # (keys, values), (rows, kv heads, capacity, head dim)

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length = self.get_seq_length()
        new = key_states.shape[-2]
        if not self._room_for(length, new):
            self._buffers = (self._grown(self.keys, key_states, length), self._grown(self.values, value_states, length))
        keys, values = self._buffers  # type: ignore[misc]  # set just above when there was no room
        keys[:, :, length : length + new] = key_states
        values[:, :, length : length + new] = value_states
        self.keys, self.values = keys[:, :, : length + new], values[:, :, : length + new]
        return self.keys, self.values

    def _room_for(self, length: int, new: int) -> bool:
        # Our buffers still hold `keys`/`values` at their start (nobody assigned other tensors) and have room for `new`.
        if self._buffers is None:
            return False
        keys, values = self._buffers
        return length + new <= keys.shape[-2] and _starts(self.keys, keys) and _starts(self.values, values)

    def _grown(self, held: Any, states: Any, length: int) -> Any:
        # A new buffer for `length + new + spare` positions, the `length` held copied to its start.
        import torch

        shape = list(states.shape)
        shape[-2] = length + states.shape[-2] + self.spare
        buffer = torch.empty(shape, dtype=states.dtype, device=states.device)
        if length:
            buffer[:, :, :length] = held
        return buffer


def _starts(view: Any, buffer: Any) -> bool:
    # `view` is `buffer[:, :, :n]` for some n: the same storage, start, rows, heads and strides.
    return bool(
        view.data_ptr() == buffer.data_ptr() and view.shape[:2] == buffer.shape[:2] and view.stride() == buffer.stride()
    )


def append_in_place(cache: Any, spare: int = SPARE) -> Any:
    """Give `cache` (a `transformers.DynamicCache`) `SpareLayer`s in place of its plain `DynamicLayer`s, holding the
    same keys and values (no copy until the next update); other layers (sliding-window ones) are left as they are.
    Returns `cache`."""
    for index, layer in enumerate(cache.layers):
        if type(layer) is DynamicLayer:
            spare_layer = SpareLayer(spare)
            if layer.is_initialized and layer.keys is not None and layer.values is not None:
                spare_layer.lazy_initialization(layer.keys, layer.values)
                spare_layer.keys, spare_layer.values = layer.keys, layer.values
            cache.layers[index] = spare_layer
    return cache
