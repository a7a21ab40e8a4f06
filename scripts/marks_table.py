# Snakemake adapter: every mark and its consensus object -> results/marks.parquet.
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.summary import write_marks_table

with snakemake_job(snakemake.log[0]) as log:
    limits = Limits.from_config(snakemake.config.get("limits"))
    rows = write_marks_table(snakemake.params.job["entries"], snakemake.output.marks, limits=limits)
    print(f"{rows} marks", file=log)
