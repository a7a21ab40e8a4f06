# Snakemake adapter: one step of the per-subject chain (zooheat.pipeline.STEPS) for one
# subject and layer. The step's name, settings and the subject's classifications come through
# params, its files through input: the subject's image and marks, and earlier steps' outputs
# by step name.
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.pipeline import run_step

# The limits are read from the config, not passed as params: raising one remakes nothing.

with snakemake_job(snakemake.log[0]) as log:
    inputs = dict(snakemake.input.items())
    inputs.pop("ingest", None)  # the ingest's manifest: the params come from it
    print(
        run_step(
            snakemake.params.step,
            subject=snakemake.wildcards.subject,
            layer=snakemake.wildcards.layer,
            image=inputs.pop("image", None),
            marks=inputs.pop("marks", None),
            inputs=inputs,
            output=snakemake.output[0],
            settings=snakemake.params.settings,
            classifications=snakemake.params.classifications,
            limits=Limits.from_config(snakemake.config.get("limits")),
        ),
        file=log,
    )
