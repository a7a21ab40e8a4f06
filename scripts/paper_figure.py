# Snakemake adapter: one paper figure (zooheat.paper) from a subject's image and zoomed counts.
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.paper import PaperStyle, write_paper_figure

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.job
    write_paper_figure(
        snakemake.input.image,
        job["zoom"],
        snakemake.output.figure,
        style=PaperStyle.from_figure(job["figure"]),
        consensus=job["consensus"],
        limits=Limits.from_config(snakemake.config.get("limits")),
    )
    print(f"{snakemake.output.figure}: {job['figure']}", file=log)
