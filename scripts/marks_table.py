# Snakemake adapter: every mark and its consensus object -> results/marks.parquet (from each
# subject's tables, or with batches from the batches' parts of it).
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.summary import merge_marks_parts, write_marks_table

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.job
    if job["parts"] is not None:
        rows = merge_marks_parts(job["parts"], snakemake.output.marks)
    else:
        limits = Limits.from_config(snakemake.config.get("limits"))
        rows = write_marks_table(job["entries"], snakemake.output.marks, limits=limits)
    print(f"{rows} marks", file=log)
