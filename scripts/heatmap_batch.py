# Snakemake adapter: one batch of subjects -> every step's outputs for each (zooheat.batch).
from pathlib import Path

from zooheat.batch import manifest_text, run_batch
from zooheat.fileio import write_if_changed
from zooheat.jobs import snakemake_job

manifest = Path(snakemake.output.manifest)
with snakemake_job(snakemake.log[0]) as log:
    rows = run_batch(
        snakemake.params.members,
        snakemake.wildcards.layer,
        settings=snakemake.params.settings,
        formats=snakemake.params.formats,
        state=snakemake.params.state,
        log=log,
    )
    write_if_changed(manifest, manifest_text(rows).encode())
    print(f"{len(rows)} subjects, {sum(r.made for r in rows)} made again", file=log)
