# Snakemake adapter: classification export -> mark tables, manifest, rejects, summary; or,
# for restore_marks, one subject's mark tables again.
import sys
from pathlib import Path

# zooheat from this checkout: the code that makes an output is the code of its workflow,
# also inside a conda env that holds only the dependencies.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")

from zooheat.ingest import ingest_export
from zooheat.panoptes import ingest_config
from zooheat.steps import snakemake_job

panoptes = snakemake.config["panoptes"]
restore = snakemake.rule == "restore_marks"
# the mark tables live beside the manifest
manifest = snakemake.input.manifest if restore else snakemake.output.manifest
with snakemake_job(snakemake.log[0]) as log:
    summary = ingest_export(
        panoptes["export"],
        Path(manifest).parent,
        ingest_config(snakemake.config["layers"], panoptes),
        subject_export=panoptes["subject_export"],
        workers=snakemake.threads,
        only_subjects=[snakemake.wildcards.subject] if restore else None,
        log=log,
    )
    print(
        f"{summary.rows_read} rows: {summary.rows_used} used, {summary.rows_filtered} "
        f"filtered, {summary.rows_rejected} rejected; {summary.subjects} subjects",
        file=log,
    )
