# Snakemake adapter: a finished batch some of whose files were deleted -> those files again.
from zooheat.batch import finish_repair, run_batch
from zooheat.jobs import snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    rows = run_batch(
        snakemake.params.members,
        snakemake.wildcards.layer,
        settings=snakemake.params.settings,
        formats=snakemake.params.formats,
        state=snakemake.params.state,
        log=log,
    )
    finish_repair(snakemake.params.state, snakemake.output.marker)
    print(f"{len(rows)} subjects, {sum(r.made for r in rows)} made again", file=log)
