# Snakemake adapter: the summary -> results/gallery/index.html (zooheat.gallery).
from zooheat.gallery import write_gallery
from zooheat.jobs import snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    rows = write_gallery(
        snakemake.input.summary,
        snakemake.output.page,
        figure_format=snakemake.params.figure_format,
    )
    print(f"{rows} rows", file=log)
