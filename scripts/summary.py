# Snakemake adapter: every subject's numbers -> results/summary.csv and the run's warnings
# (zooheat.summary).
import csv

from zooheat.fileio import write_if_changed
from zooheat.jobs import snakemake_job
from zooheat.limits import Limits
from zooheat.summary import (
    run_warnings,
    summary_from_files,
    summary_from_manifests,
    warnings_text,
    write_summary,
)

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.job
    if job["manifests"] is not None:  # batches: their manifests hold the numbers
        rows = summary_from_manifests(job["manifests"])
    else:
        limits = Limits.from_config(snakemake.config.get("limits"))
        rows = summary_from_files(job["entries"], snakemake.params.settings, limits=limits)
    print(f"{write_summary(rows, snakemake.output.summary)} rows", file=log)
    coordinates = None
    if "ingest" in snakemake.input.keys():  # the ingest's subjects.tsv flags display pixels
        with open(snakemake.input.ingest, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            coordinates = {r["subject_id"]: r["coordinates"] for r in reader}
    warnings = run_warnings(rows, snakemake.params.layers, coordinates)
    write_if_changed(snakemake.output.warnings, warnings_text(warnings).encode())
    print(f"{len(warnings)} warnings", file=log)
