# Snakemake adapter: image + zoomed array -> overlay figure (format from the output's extension).
import sys

# zooheat from this checkout: the code that makes an output is the code of its workflow,
# also inside a conda env that holds only the dependencies.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")

from zooheat.steps import overlay_step, snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    print(
        overlay_step(
            snakemake.input.image,
            snakemake.input.zoomed,
            snakemake.output[0],
            title=snakemake.params.title,
            **snakemake.params.style,
        ),
        file=log,
    )
