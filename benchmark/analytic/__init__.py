"""Analytic (data-free) results of the papers: exact expected numbers of back-propagation paths.

``backprop_paths`` reproduces CBM (deeprnn) Fig. 2 bottom and SCS Fig. 3 by exact dynamic programming
over the unrolled graph of a deep CBM / SCS stack.
"""

from .backprop_paths import (
    DEFAULT_FIG2,
    DEFAULT_FIG3,
    cbm_fig2_table,
    cbm_path_counts,
    enumerate_paths_bruteforce,
    plot_cbm_paths,
    plot_scs_chains,
    scs_chain_counts,
    scs_fig3_table,
    stsgd_marginals,
)

__all__ = [
    "DEFAULT_FIG2",
    "DEFAULT_FIG3",
    "cbm_fig2_table",
    "cbm_path_counts",
    "enumerate_paths_bruteforce",
    "plot_cbm_paths",
    "plot_scs_chains",
    "scs_chain_counts",
    "scs_fig3_table",
    "stsgd_marginals",
]
