# Snakemake adapter: classification export -> mark tables, manifest, rejects, summary.
from pathlib import Path

from zooheat.ingest import ingest_export
from zooheat.jobs import snakemake_job
from zooheat.panoptes import ingest_config

with snakemake_job(snakemake.log[0]) as log:
    summary = ingest_export(
        snakemake.input.export,
        Path(snakemake.output.manifest).parent,  # the mark tables live beside the manifest
        ingest_config(snakemake.params.layers, snakemake.params.settings),
        subject_export=snakemake.input.get("subject_export"),
        workflow_export=snakemake.input.get("workflow_export"),
        workers=snakemake.threads,
        log=log,
        adopt=True,  # results/ingest is the workflow's own folder
    )
    print(
        f"{summary.rows_read} rows: {summary.rows_used} used, {summary.rows_filtered} "
        f"filtered, {summary.rows_rejected} rejected; {summary.subjects} subjects",
        file=log,
    )
    for warning in summary.warnings:  # also in results/warnings.tsv, listed at the run's end
        print(f"zooheat: warning: {warning}", file=log)
