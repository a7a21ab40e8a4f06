# Snakemake adapter: one batch of subjects -> every step's outputs for each, the batch's
# manifest and its part of marks.parquet (zooheat.batch, zooheat.summary).
from pathlib import Path

from zooheat.batch import manifest_text, run_batch
from zooheat.fileio import write_if_changed
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.summary import SubjectLayer, write_marks_part

manifest = Path(snakemake.output.manifest)
layer = snakemake.wildcards.layer
with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.batch
    limits = Limits.from_config(snakemake.config.get("limits"))
    rows = run_batch(layer=layer, log=log, limits=limits, **job)
    entries = [
        SubjectLayer(m.subject, layer, m.marks, m.classifications, m.image) for m in job["members"]
    ]
    marks = write_marks_part(entries, snakemake.output.marks, limits=limits)
    write_if_changed(manifest, manifest_text(rows).encode())
    print(f"{len(rows)} subjects, {sum(r.made for r in rows)} made again, {marks} marks", file=log)
