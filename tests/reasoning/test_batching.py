"""Batched decoding is exactly unbatched decoding (fp32): greedy token for token, sampling draw for draw."""

import random
import threading

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from reasoning import batching  # noqa: E402
from reasoning.batching import BatchStats, NGramPool, Sequence, decode_batch, sliding_window  # noqa: E402
from reasoning.decoding import decode, sample  # noqa: E402
from reasoning.errors import ConfigurationError  # noqa: E402
from reasoning.prefix_cache import PrefixCache  # noqa: E402
from reasoning.types import DecodingConfig  # noqa: E402
from tests.reasoning.test_decoding import VOCAB, tiny  # noqa: E402  (the same tiny random models)


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def model(request):
    return tiny(request.param)


def cases(n=16, seed=0, model=None):
    """Prompts of 1-40 tokens with their own max_tokens, EOS set and stop condition (some none); with `model`, the
    EOS token and the stop pair are taken from the prompt's greedy output, so that they end it early."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = [rng.randrange(VOCAB) for _ in range(rng.randrange(1, 40))]
        free = decode(model, prompt, max_tokens=40, eos=frozenset()).tokens if model is not None else []
        eos = frozenset({rng.choice(free[1:])}) if free and i % 3 == 0 else frozenset()
        j = rng.randrange(1, 30)
        stop_at = tuple(free[j : j + 2]) if free and i % 3 == 1 else None
        out.append((prompt, rng.randrange(1, 40), eos, stop_at))
    return out


def stopper(pair):
    # A stop condition on the tokens so far, as the backend's stop strings are: this pair of tokens in a row.
    if pair is None:
        return None
    return lambda tokens: any(tuple(tokens[i : i + 2]) == pair for i in range(len(tokens) - 1))


def test_batched_greedy_is_unbatched_greedy(model):
    batch = cases(model=model)
    sequences = [Sequence(p, m, e, stop=stopper(s)) for p, m, e, s in batch]
    decode_batch(model, sequences)
    for seq, (prompt, max_tokens, eos, stop_at) in zip(sequences, batch, strict=True):
        alone = decode(model, prompt, max_tokens=max_tokens, eos=eos, stop=stopper(stop_at))
        assert seq.result.tokens == alone.tokens and seq.result.finish == alone.finish, prompt
    assert max(max(s.batch_sizes) for s in sequences) > len(batch) // 2  # they did decode together
    assert {s.result.finish for s in sequences} == {"stop", "length"}


def test_batched_sampling_draws_as_sampling_alone(model):
    batch = cases(8, seed=5, model=model)
    sequences = [Sequence(p, m, e, stop=stopper(s), temperature=0.9, top_p=0.95, seed=i)
                 for i, (p, m, e, s) in enumerate(batch)]  # fmt: skip
    greedy = Sequence(batch[0][0], 20, frozenset())  # greedy and sampled rows share a batch
    decode_batch(model, [*sequences, greedy])
    for i, (seq, (prompt, max_tokens, eos, stop_at)) in enumerate(zip(sequences, batch, strict=True)):
        alone = sample(model, prompt, max_tokens=max_tokens, eos=eos, temperature=0.9, top_p=0.95, seed=i,
                       stop=stopper(stop_at))  # fmt: skip
        assert seq.result.tokens == alone.tokens
    assert greedy.result.tokens == decode(model, batch[0][0], max_tokens=20, eos=frozenset()).tokens


def test_samples_of_one_prompt_share_one_prefill_and_draw_as_alone(model):
    """A request's n samples wait side by side: one prefill serves them all, and each still draws what it draws
    alone; a different prompt in between starts a new prefill, and one that finishes at its first token leaves."""
    prompt, other = [5, 9, 2, 7, 11], [3, 1, 4]
    sequences = [Sequence(prompt, 12, frozenset(), temperature=1.0, seed=k) for k in range(3)]
    sequences.append(Sequence(other, 12, frozenset(), temperature=1.0, seed=3))
    first = sample(model, prompt, max_tokens=1, eos=frozenset(), temperature=1.0, seed=4).tokens[0]
    sequences.append(Sequence(prompt, 12, frozenset({first}), temperature=1.0, seed=4))  # ends at its first token
    stats = BatchStats()
    decode_batch(model, sequences, stats=stats)
    assert stats.prefills == 3 and stats.steps > 0 and stats.step_rows > stats.steps
    assert [s.computed for s in sequences[:3]] == [len(prompt), 0, 0]
    for seq in sequences:
        alone = sample(model, seq.prompt, max_tokens=12, temperature=1.0, seed=seq.seed, eos=seq.eos)
        assert seq.result.tokens == alone.tokens, seq.seed
    assert sequences[4].result.tokens == [] and sequences[4].result.finish == "stop"  # EOS is not output
    assert "3 prompts" in str(stats)


@pytest.mark.parametrize("when", ["first token", "later"])
def test_a_sample_with_nothing_to_draw_from_fails_alone(model, when):
    """A row whose draw has nothing to draw from (here a NaN temperature, as NaN logits would) gets the draw's
    ValueError as its `error`, at its first token or in a later step; the rows beside it decode as alone."""
    prompt, other = [5, 9, 2, 7, 11], [3, 1, 4]
    bad = Sequence(other, 12, frozenset(), temperature=float("nan") if when == "first token" else 1.0, seed=9)
    if when == "later":
        bad.on_commit = lambda tokens: setattr(bad, "temperature", float("nan"))
    good = [Sequence(prompt, 12, frozenset(), temperature=1.0, seed=k) for k in range(2)]
    decode_batch(model, [*good, bad])
    assert isinstance(bad.error, ValueError) and bad.result is None
    assert "cannot draw a token" in str(bad.error)
    for seq in good:
        assert seq.error is None
        assert seq.result.tokens == sample(model, prompt, max_tokens=12, eos=frozenset(), temperature=1.0,
                                           seed=seq.seed).tokens  # fmt: skip


def test_prompts_with_a_cached_prefix_prefill_together_and_decode_as_alone(model):
    """A burst of prompts sharing a few-shot prefix, as a search sends them: with a prefix cache, their rests
    prefill in one forward (`prefill_together`), and greedy and sampled rows still give what they give alone,
    without any cache; a request's samples still share one prefill."""
    rng = random.Random(11)
    shared = [rng.randrange(VOCAB) for _ in range(30)]
    prompts = [shared + [rng.randrange(VOCAB) for _ in range(rng.randrange(1, 12))] for _ in range(8)]
    prompts.append([rng.randrange(VOCAB) for _ in range(9)])  # shares nothing: prefilled alone
    cache = PrefixCache(max_tokens=2000)
    decode_batch(model, [Sequence(prompts[0], 4, frozenset())], prefix_cache=cache)  # the prefix is cached now
    sequences = [Sequence(p, 16, frozenset()) for p in prompts[1:]]
    sequences += [Sequence(prompts[2], 16, frozenset(), temperature=0.9, seed=k) for k in range(3)]
    stats = BatchStats()
    decode_batch(model, sequences, prefix_cache=cache, stats=stats)
    for seq in sequences:
        if seq.greedy:
            alone = decode(model, seq.prompt, max_tokens=16, eos=frozenset())
        else:
            alone = sample(model, seq.prompt, max_tokens=16, eos=frozenset(), temperature=0.9, seed=seq.seed)
        assert seq.result.tokens == alone.tokens, (seq.prompt, seq.seed)
    assert stats.prefills == 9  # 8 prompts, the three samples on the one before them
    assert sum(s.computed for s in sequences) == cache.stats.tokens_computed - len(prompts[0])
    assert sum(s.computed for s in sequences[:7]) == sum(len(p) - 30 for p in prompts[1:8])  # the rests alone


def test_sequences_join_a_running_batch_and_leave_it(model):
    batch = cases(10, seed=7)
    first = [Sequence(p, 30, frozenset()) for p, *_ in batch[:3]]
    later = [Sequence(p, m, frozenset()) for p, m, *_ in batch[3:]]
    steps = 0

    def joining():
        nonlocal steps
        steps += 1
        return [later.pop(0)] if later and steps % 3 == 0 else []  # one newcomer every third step

    decode_batch(model, list(first), joining=joining, max_batch=4)
    for seq in first + [s for s in later]:
        assert seq.result.tokens == decode(model, seq.prompt, max_tokens=seq.max_tokens, eos=frozenset()).tokens
    assert not later


def test_joiners_arrive_and_match(model):
    batch = cases(10, seed=7)
    joined = [Sequence(p, m, frozenset()) for p, m, *_ in batch[3:]]
    pending = list(joined)
    steps = 0

    def joining():
        nonlocal steps
        steps += 1
        return [pending.pop(0)] if pending and steps % 3 == 0 else []

    first = [Sequence(p, 30, frozenset()) for p, *_ in batch[:3]]
    decode_batch(model, list(first), joining=joining, max_batch=4)
    for seq in first + joined:
        assert seq.result.tokens == decode(model, seq.prompt, max_tokens=seq.max_tokens, eos=frozenset()).tokens
    assert max(max(s.batch_sizes) for s in first + joined) == 4  # max_batch holds


def test_a_cancelled_sequence_leaves_and_the_others_go_on(model):
    batch = cases(4, seed=9)
    cancel = threading.Event()
    made = []

    def on_commit(tokens):
        made.extend(tokens)
        if len(made) >= 5:
            cancel.set()

    victim = Sequence(batch[0][0], 200, frozenset(), on_commit=on_commit, cancel=cancel)
    others = [Sequence(p, 30, frozenset()) for p, *_ in batch[1:]]
    left = []
    for seq in [victim, *others]:
        seq.on_leave = left.append
    decode_batch(model, [victim, *others])
    assert victim.result is None and victim.error is None and len(made) < 10
    assert left[0] is victim and set(left) == {victim, *others}
    for seq in others:
        assert seq.result.tokens == decode(model, seq.prompt, max_tokens=30, eos=frozenset()).tokens


def test_a_failing_callback_fails_its_sequence_only(model):
    batch = cases(3, seed=2)

    def boom(tokens):
        if len(tokens) > 3:
            raise RuntimeError("boom")
        return False

    bad = Sequence(batch[0][0], 30, frozenset(), stop=boom)
    good = [Sequence(p, 30, frozenset()) for p, *_ in batch[1:]]
    decode_batch(model, [bad, *good])
    assert isinstance(bad.error, RuntimeError) and bad.result is None
    for seq in good:
        assert seq.result.tokens == decode(model, seq.prompt, max_tokens=30, eos=frozenset()).tokens


@pytest.mark.parametrize("width", [3, 8])
def test_speculating_alone_is_greedy(model, width):
    pool = NGramPool()
    for prompt, max_tokens, eos, stop_at in cases(6, seed=4, model=model):
        alone = decode(model, prompt, max_tokens=max_tokens + 20, eos=eos, stop=stopper(stop_at))
        pool.add(alone.tokens[3:])  # another request's output, overlapping this one: good guesses
        seq = Sequence(prompt, max_tokens + 20, eos, stop=stopper(stop_at))
        # No fallback: a loaded machine's clock must not stop the lookahead this test is about.
        decode_batch(model, [seq], speculate=width, pool=pool, config=DecodingConfig(fallback=False))
        assert seq.result.tokens == alone.tokens and seq.result.finish == alone.finish
        assert seq.speculative == len(seq.batch_sizes) - 1 or not seq.result.tokens[1:]


def test_speculation_only_when_alone(model):
    batch = cases(4, seed=6)
    sequences = [Sequence(p, 10 * (i + 1), frozenset()) for i, (p, *_) in enumerate(batch)]
    decode_batch(model, sequences, speculate=4, pool=NGramPool())
    *others, longest = sequences
    assert all(s.speculative == 0 for s in others) and longest.speculative > 0
    for seq in sequences:
        assert seq.result.tokens == decode(model, seq.prompt, max_tokens=seq.max_tokens, eos=frozenset()).tokens


class Misguided(NGramPool):
    """A pool whose guesses never match: `token`, which greedy never makes."""

    def __init__(self, token):
        super().__init__()
        self.token = token

    def guess(self, tokens):
        return [self.token] * self.size


@pytest.mark.parametrize(
    ("cost", "config", "lookahead_steps"),
    [
        (3.0, None, 2),  # each lookahead step loses 2 one-token steps' time: past the grace (2) at the second
        (1.0, None, 27),  # as cheap as a one-token step: never behind; all but the warm-up and yardstick steps
        (3.0, DecodingConfig(fallback=False), 29),  # no fallback, no yardstick: every step after the prefill
    ],
)
def test_a_lone_sequence_whose_lookahead_loses_time_falls_back(model, monkeypatch, cost, config, lookahead_steps):
    """A scripted clock: a one-token forward takes 1 s, a lookahead step `cost` s, and no guess ever matches."""
    prompt = [5, 9, 2, 7, 11, 3]
    greedy = decode(model, prompt, max_tokens=30, eos=frozenset()).tokens
    never = next(t for t in range(VOCAB) if t not in greedy)
    now = 0.0

    def tick(module, args, kwargs):
        nonlocal now
        now += 1.0 if kwargs["input_ids"].shape[1] == 1 else cost

    monkeypatch.setattr(batching, "_clock", lambda: now)
    hook = model.register_forward_pre_hook(tick, with_kwargs=True)
    try:
        seq = Sequence(prompt, 30, frozenset())
        stats = BatchStats()
        decode_batch(model, [seq], speculate=4, pool=Misguided(never), config=config, stats=stats)
    finally:
        hook.remove()
    assert seq.result.tokens == greedy and len(seq.batch_sizes) == 30  # one token a forward: no guess matched
    assert seq.speculative == stats.speculative_steps == lookahead_steps
    assert seq.result.fell_back == (lookahead_steps == 2)


def test_ngram_pool_is_bounded_and_guesses_what_followed():
    pool = NGramPool(n=3, size=4, capacity=10)
    pool.add([1, 2, 3, 4, 5, 6, 7])
    assert pool.guess([9, 2, 3]) == [4, 5, 6, 7]
    assert pool.guess([9, 9]) == []
    pool.add(list(range(100, 140)))
    assert len(pool._follow) == 10 and pool.guess([2, 3]) == []


def game24_requests(count):
    """Propose and value prompts of game 24 (the search's requests) over several puzzles and states."""
    from evals.game24 import Game24Config, Game24Task
    from reasoning.tree import Node

    puzzles = ["4 5 6 10", "1 1 4 6", "2 3 5 12", "3 3 8 8", "1 2 3 4", "4 4 6 8", "2 2 10 10", "5 5 5 9"]
    out = []
    for numbers in puzzles:
        task = Game24Task(numbers, Game24Config(chat=False))
        a, b, *rest = numbers.split()
        state = f"{a} + {b} = {int(a) + int(b)} (left: {' '.join(sorted([*rest, str(int(a) + int(b))], key=int))})\n"
        out += [task.propose_request(Node(state="")), task.value_request(Node(state=state, depth=1))]
    return out[:count]


@pytest.fixture(scope="module")
def embedded_greedy(torch_model):
    """16 game-24 prompts of the embedded model in fp32 and each one's greedy decode alone (32 tokens at most)."""
    prompts = [torch_model.encode(r) for r in game24_requests(16)]
    eos = torch_model.eos_token_ids
    return prompts, [decode(torch_model.model, p, max_tokens=32, eos=eos).tokens for p in prompts]


@pytest.mark.model
@pytest.mark.parametrize("cached", [False, True])
def test_embedded_model_fp32_batched_greedy_is_unbatched_greedy(torch_model, embedded_greedy, cached):
    """With `cached`, a propose and a value prompt are in a prefix cache first: the others' rests prefill together."""
    prompts, alone = embedded_greedy
    eos = torch_model.eos_token_ids
    cache = PrefixCache(max_tokens=8192) if cached else None
    if cache is not None:
        decode_batch(torch_model.model, [Sequence(p, 1, eos) for p in prompts[:2]], prefix_cache=cache)
    sequences = [Sequence(p, 32, eos) for p in prompts]
    decode_batch(torch_model.model, sequences, prefix_cache=cache)
    if cache is not None:
        assert sum(s.computed for s in sequences) < sum(map(len, prompts)) // 4  # most came from the cache
    assert [s.result.tokens for s in sequences] == alone
    assert max(max(s.batch_sizes) for s in sequences) == 16


def windowed_models():
    """A Mistral whose every layer has an 8-token window, and a Qwen2 mixing a full and a windowed layer."""
    torch.manual_seed(2)
    config = transformers.MistralConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, sliding_window=8)  # fmt: skip
    mixed = transformers.Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, use_sliding_window=True,
                                     sliding_window=8, max_window_layers=1)  # fmt: skip
    return [transformers.MistralForCausalLM(config).eval(), transformers.Qwen2ForCausalLM(mixed).eval()]


@pytest.mark.parametrize("speculate", [0, 4])
@pytest.mark.parametrize("which", [0, 1])
def test_a_sliding_window_model_decodes_one_sequence_at_a_time(which, speculate):
    """Prompts longer than an 8-token window: each gets greedy's answer (a batch of them failed as a whole, and so
    did a lone sequence's lookahead: a full window cannot be cropped), one sequence at a time, no lookahead step."""
    windowed = windowed_models()[which]
    assert sliding_window(windowed) and not sliding_window(tiny("qwen2"))
    batch = [[(7 * i + j) % VOCAB for j in range(20 + i)] for i in range(4)]
    sequences = [Sequence(p, 10, frozenset()) for p in batch]
    decode_batch(windowed, sequences, speculate=speculate, config=DecodingConfig(fallback=False))
    for seq, prompt in zip(sequences, batch, strict=True):
        alone = decode(windowed, prompt, max_tokens=10, eos=frozenset())
        assert seq.error is None and seq.result.tokens == alone.tokens
        assert seq.batch_sizes == [1] * len(seq.batch_sizes) and seq.speculative == 0


@pytest.mark.parametrize("mode", ["jacobi", "gs_jacobi", "hybrid", "sliding", "lookahead"])
def test_parallel_modes_refuse_a_sliding_window_model(mode):
    """They roll the cache back, which a full window cannot do (they gave wrong tokens, or hung): one clear error."""
    windowed = windowed_models()[0]
    with pytest.raises(ConfigurationError, match="sliding-window"):
        decode(windowed, list(range(20)), max_tokens=10, eos=frozenset(), config=DecodingConfig(mode=mode))
    greedy = decode(windowed, list(range(20)), max_tokens=10, eos=frozenset())
    assert len(greedy.tokens) == 10
