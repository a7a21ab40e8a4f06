# Snakemake adapter: marks of one subject and layer -> histogram on the scan grid (.npy).
import sys

# zooheat from this checkout: the code that makes an output is the code of its workflow,
# also inside a conda env that holds only the dependencies.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")

from zooheat.steps import histogram_step, snakemake_job

with snakemake_job(snakemake.log[0]) as log:
    print(
        histogram_step(
            snakemake.input.image,
            snakemake.input.marks,
            snakemake.output[0],
            bin_size=snakemake.params.bin_size,
        ),
        file=log,
    )
