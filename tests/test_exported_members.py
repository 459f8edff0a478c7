import reasoning
import reasoning.engine
import reasoning.errors
import reasoning.testing


def test_all_names_exist_and_nothing_private_is_exported():
    for module in (reasoning, reasoning.engine, reasoning.errors, reasoning.testing):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
            assert not name.startswith("_") or name == "__version__"


def test_every_error_derives_from_the_base():
    for name in reasoning.errors.__all__:
        assert issubclass(getattr(reasoning.errors, name), reasoning.ReasoningError)
