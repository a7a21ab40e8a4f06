# Snakemake adapter: the subjects whose image is missing -> results/missing-images.tsv (and
# the run fails, listing them, unless the config says missing_images: warn).
from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed
from zooheat.jobs import snakemake_job
from zooheat.summary import missing_images_text

with snakemake_job(snakemake.log[0]) as log:
    missing = snakemake.params.missing
    write_if_changed(snakemake.output.table, missing_images_text(missing).encode())
    for subject, image in missing:
        print(f"subject {subject}: image not found: {image}", file=log)
    print(f"{len(missing)} subjects without an image", file=log)
    if missing and snakemake.params.policy == "error":
        raise ZooheatError(
            f"{len(missing)} subjects have no image, so no heat map (each listed in "
            f"{snakemake.log[0]}; the first: {missing[0][1]}); their consensus and summary "
            "rows are made, and every other subject's files. Add the images, or set "
            "missing_images: warn to accept this."
        )
