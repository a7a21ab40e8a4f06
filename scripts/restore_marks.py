# Snakemake adapter: one subject's mark tables again, from the export and settings the last
# ingest used (its summary says which), when a table was deleted by hand.
from pathlib import Path

from zooheat.ingest import restore_marks
from zooheat.jobs import snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    print(
        restore_marks(
            snakemake.input.summary,
            Path(snakemake.input.manifest).parent,
            snakemake.wildcards.table.rpartition("/")[2],  # {layer}/{subject}
            log=log,
        ),
        file=log,
    )
