"""Every public name in the lazy export tables resolves to an object of that name."""

import importlib

import pytest

PACKAGES = ["rnnlab", "rnnlab.nn", "rnnlab.text", "rnnlab.analysis", "rnnlab.training"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    names = [n for n in module.__all__ if not n.startswith("__")]
    assert names, f"{package} exports nothing"
    for name in names:
        obj = getattr(module, name)
        assert obj is not None
        if hasattr(obj, "__name__") and not isinstance(obj, type(module)):
            assert obj.__name__ == name or name in {"__version__"}, (package, name, obj)


def test_unknown_name_is_an_attribute_error():
    import rnnlab

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        rnnlab.Nope  # noqa: B018
