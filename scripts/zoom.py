# Snakemake adapter: histogram -> array on the image grid, one bin_size x bin_size block per bin.
import sys

# zooheat from this checkout: the code that makes an output is the code of its workflow,
# also inside a conda env that holds only the dependencies.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")

from zooheat.steps import snakemake_job, zoom_step

with snakemake_job(snakemake.log[0]) as log:
    print(
        zoom_step(
            snakemake.input.histogram,
            snakemake.input.image,
            snakemake.output[0],
            bin_size=snakemake.params.bin_size,
        ),
        file=log,
    )
