# Snakemake adapter: a finished batch some of whose files were deleted -> those files again.
from zooheat.batch import finish_repair, run_batch
from zooheat.jobs import snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.batch
    rows = run_batch(layer=snakemake.wildcards.layer, log=log, **job)
    finish_repair(job["state"], snakemake.output.marker)
    print(f"{len(rows)} subjects, {sum(r.made for r in rows)} made again", file=log)
