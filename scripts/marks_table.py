# Snakemake adapter: every mark and its consensus object -> results/marks.parquet.
from zooheat.jobs import snakemake_job
from zooheat.summary import write_marks_table

with snakemake_job(snakemake.log[0]) as log:
    rows = write_marks_table(snakemake.params.job["entries"], snakemake.output.marks)
    print(f"{rows} marks", file=log)
