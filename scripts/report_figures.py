# Snakemake adapter: the summary -> the report's sample of figures, most contested first.
from zooheat.gallery import write_report_figures
from zooheat.jobs import snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    written = write_report_figures(
        snakemake.input.summary,
        snakemake.output.figures,
        count=snakemake.params.figures,
        figure_format=snakemake.params.figure_format,
    )
    print(f"{len(written)} figures", file=log)
