"""Stream a Panoptes classification export into per-subject mark tables.

Outputs under ``OUTDIR``:

- ``marks/{layer}/{subject}.csv``: one row per mark (columns
  :data:`zooheat.panoptes.MARK_COLUMNS`), sorted by time, for every subject in the manifest
  (a header only when the subject has no such marks);
- ``subjects.tsv``: the manifest, one row per subject;
- ``rejects.csv``: every row that could not be used: line, classification_id, field, reason;
- ``ingest-summary.json``: counts (``rows_read = rows_used + rows_filtered +
  rows_rejected``) and the settings the export was read with.

A mark table is written only when its bytes change (atomic replace), so a new export rewrites
only the subjects that gained or lost marks and a workflow downstream rebuilds only those.
Mark tables of subjects no longer in the export are removed.

The phases, one module each:

- :mod:`~zooheat.ingest.chunks`: the export cut into chunks of whole records;
- :mod:`~zooheat.ingest.scan`: each chunk's rows classified (exact or fast route, over one
  row core, :func:`zooheat.panoptes.classify`) and the usable ones spooled by subject bucket
  (:mod:`~zooheat.ingest.spool`), by worker processes (:mod:`~zooheat.ingest.parallel`);
- :mod:`~zooheat.ingest.tables`: each bucket's classifications to mark tables and manifest
  rows, again in parallel;
- :mod:`~zooheat.ingest.run`: the whole job and its summary files.

Memory stays bounded by the chunk and bucket sizes, not the export's.
"""

from zooheat.ingest.run import IngestSummary, ingest_export, restore_marks

__all__ = ["IngestSummary", "ingest_export", "restore_marks"]
