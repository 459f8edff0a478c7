"""reasoning.kv_cache: a layer that appends in place holds what transformers' DynamicLayer holds, through every way
the decoders change a cache (append, crop, rows selected, tensors assigned), and writes in place when it can."""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer  # noqa: E402

from reasoning.kv_cache import SpareLayer, append_in_place  # noqa: E402


def states(rows, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 2, length, 4, generator=g), torch.randn(rows, 2, length, 4, generator=g)


def same(a, b):
    assert a.keys.shape == b.keys.shape and a.values.shape == b.values.shape
    assert torch.equal(a.keys, b.keys) and torch.equal(a.values, b.values)


def test_appends_crops_and_row_selection_hold_what_a_dynamic_layer_holds():
    plain, spare = DynamicLayer(), SpareLayer(spare=3)  # a small room, so the buffer is outgrown several times
    for step, (rows, length) in enumerate([(4, 5), (4, 1), (4, 2), (4, 1), (4, 4), (4, 1)]):
        k, v = states(rows, length, step)
        got, want = spare.update(k, v), plain.update(k, v)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
        same(spare, plain)
    for layer in (plain, spare):
        layer.crop(-2)  # a lookahead step's rejected guesses
        layer.batch_select_indices(torch.tensor([0, 2]))  # rows that left the batch
    same(spare, plain)
    for step in range(4):
        k, v = states(2, 1, 100 + step)
        plain.update(k, v), spare.update(k, v)
        same(spare, plain)


def test_writes_in_place_while_there_is_room_and_copies_when_keys_were_replaced():
    layer = SpareLayer(spare=4)
    layer.update(*states(2, 3, 0))
    buffer = layer.keys.data_ptr()
    for step in range(4):  # the room: no new buffer
        layer.update(*states(2, 1, 1 + step))
        assert layer.keys.data_ptr() == buffer
    layer.update(*states(2, 1, 9))  # the room used up: a new buffer, holding all 8 positions
    assert layer.keys.data_ptr() != buffer and layer.get_seq_length() == 8
    held = layer.keys.clone()
    layer.keys = torch.cat([torch.zeros(2, 2, 1, 4), layer.keys], dim=2)  # the batched decoder pads, as it does
    layer.values = torch.cat([torch.zeros(2, 2, 1, 4), layer.values], dim=2)
    k, v = states(2, 1, 10)
    layer.update(k, v)
    assert layer.get_seq_length() == 10
    assert torch.equal(layer.keys[:, :, 1:9], held) and torch.equal(layer.keys[:, :, 9:], k)


def test_a_crop_then_an_append_overwrites_the_dropped_positions():
    layer = SpareLayer()
    layer.update(*states(1, 6, 0))
    layer.crop(-3)
    k, v = states(1, 2, 1)
    layer.update(k, v)
    assert layer.get_seq_length() == 5 and torch.equal(layer.keys[:, :, 3:], k)


def test_append_in_place_swaps_plain_layers_only_and_keeps_their_contents():
    class Cache:
        def __init__(self):
            self.layers = [DynamicLayer(), DynamicSlidingWindowLayer(sliding_window=4), DynamicLayer()]

    cache = Cache()
    cache.layers[0].update(*states(1, 3, 0))
    keys = cache.layers[0].keys
    append_in_place(cache)
    assert [type(layer) for layer in cache.layers] == [SpareLayer, DynamicSlidingWindowLayer, SpareLayer]
    assert cache.layers[0].keys is keys and cache.layers[2].get_seq_length() == 0
    cache.layers[2].update(*states(1, 2, 1))
    assert cache.layers[2].get_seq_length() == 2
