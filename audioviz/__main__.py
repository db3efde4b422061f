import os
import sys

# `python -m audioviz` puts the current folder first on sys.path (the console script does not):
# a stray .py file there (bar.py, numpy.py, ...) must never be imported in place of a module.
# Kept only when it is the folder audioviz itself is imported from (a source checkout).
_package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd() != _package_parent:
    del sys.path[0]

from .cli import main  # noqa: E402

main()
