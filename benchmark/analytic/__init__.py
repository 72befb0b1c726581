"""Analytic (data-free) results of the papers: exact expected numbers of back-propagation paths.

``backprop_paths`` reproduces CBM (deeprnn) Fig. 2 bottom and SCS Fig. 3 by exact dynamic programming
over the unrolled graph of a deep CBM / SCS stack; its public names (its ``__all__``) are re-exported here.
"""
from .backprop_paths import *  # noqa: F401,F403
from .backprop_paths import __all__  # noqa: F401
