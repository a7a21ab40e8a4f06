# Snakemake adapter: a finished batch some of whose files were deleted -> those files again.
from zooheat.batch import finish_repair, run_batch
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.batch
    limits = Limits.from_config(snakemake.config.get("limits"))
    rows = run_batch(layer=snakemake.wildcards.layer, log=log, limits=limits, **job)
    finish_repair(job["state"], snakemake.output.marker)
    print(f"{len(rows)} subjects, {sum(r.made for r in rows)} made again", file=log)
