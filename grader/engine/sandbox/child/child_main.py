"""Start of the child runtime: ``python -s -S -P -B child_main.py REQUEST_FD REPLY_FD``.

Loads its sibling files by path under private names (nothing here is
importable as ``grader``) and hands over to ``runtime.main``.
"""

import os
import sys


def _load_sibling(name):
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_dlgrade_child_" + name, os.path.join(here, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    status = _load_sibling("runtime").main(sys.argv, _load_sibling)
    os._exit(status)
