"""zooheat: heat maps of citizen-science image annotations over the images they describe.

The library is split by concern; every function is pure computation unless its name says it
reads or writes (``read_*``, ``write_*``, ``save_*``):

- :mod:`zooheat.images`: read a subject image of any PNG mode; its size.
- :mod:`zooheat.marks`: the per-subject mark table (x = column, y = row, origin top-left).
- :mod:`zooheat.histogram`: marks to a 2-D histogram on the scan grid; zoom back to the image.
- :mod:`zooheat.render`: the overlay figure and deterministic saving.
- :mod:`zooheat.synthetic`: synthetic detector scans and volunteers' marks for examples/tests.
- :mod:`zooheat.steps`: the file-to-file steps shared by the CLI and the Snakemake scripts.
"""

from zooheat.errors import ZooheatError

__all__ = ["ZooheatError", "__version__"]
__version__ = "0.1.0"
