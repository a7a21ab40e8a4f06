# Snakemake adapter: every subject's numbers -> results/summary.csv and the run's warnings
# (zooheat.summary).
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.summary import (
    summary_from_files,
    summary_from_manifests,
    write_summary,
    write_warnings,
)

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.job
    if job["manifests"] is not None:  # batches: their manifests hold the numbers
        rows = summary_from_manifests(job["manifests"])
    else:
        limits = Limits.from_config(snakemake.config.get("limits"))
        rows = summary_from_files(job["entries"], snakemake.params.settings, limits=limits)
    print(f"{write_summary(rows, snakemake.output.summary)} rows", file=log)
    manifest = snakemake.input.get("ingest")  # from an export: flags display pixels
    warnings = write_warnings(rows, snakemake.params.layers, snakemake.output.warnings, manifest)
    print(f"{warnings} warnings", file=log)
