# Snakemake adapter: one batch of subjects -> every step's outputs for each (zooheat.batch).
from pathlib import Path

from zooheat.batch import manifest_text, run_batch
from zooheat.fileio import write_if_changed
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits

manifest = Path(snakemake.output.manifest)
with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.batch
    limits = Limits.from_config(snakemake.config.get("limits"))
    rows = run_batch(layer=snakemake.wildcards.layer, log=log, limits=limits, **job)
    write_if_changed(manifest, manifest_text(rows).encode())
    print(f"{len(rows)} subjects, {sum(r.made for r in rows)} made again", file=log)
