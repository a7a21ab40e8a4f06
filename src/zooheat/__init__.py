"""zooheat: heat maps of citizen-science image annotations over the images they describe.

The library is split by concern; every function is pure computation unless its name says it
reads or writes (``read_*``, ``write_*``, ``save_*``):

- :mod:`zooheat.images`: read a subject image of any PNG mode; its size.
- :mod:`zooheat.marks`: the per-subject mark table (x = column, y = row, origin top-left).
- :mod:`zooheat.panoptes`: one row of a Panoptes export: validate, filter, extract marks.
- :mod:`zooheat.ingest`: a whole export to per-subject mark tables, by phase.
- :mod:`zooheat.histogram`: marks to a 2-D histogram on the scan grid; zoom back to the image.
- :mod:`zooheat.render`, :mod:`zooheat.quicklook`: the overlay figure; deterministic saving.
- :mod:`zooheat.pipeline`: the per-subject chain, each step defined once (the workflow's
  rules, batches and the command line all run it); :mod:`zooheat.batch`: many subjects' chains
  in one process.
- :mod:`zooheat.provenance`: what made an output (code digest, package versions).
- :mod:`zooheat.synthetic`: synthetic detector scans and volunteers' marks for examples/tests.
"""

from zooheat.errors import ZooheatError

__all__ = ["ZooheatError", "__version__"]
__version__ = "0.1.0"
