# Snakemake adapter: results/paper/provenance.json, what made the paper figures
# (zooheat.provenance.paper_provenance).
import json

from zooheat.fileio import atomic_write
from zooheat.jobs import snakemake_job
from zooheat.provenance import paper_provenance, source_commit

with snakemake_job(snakemake.log[0]) as log:
    job = snakemake.params.job
    record = paper_provenance(
        job["figures"],
        sources=job["sources"],
        settings=job["settings"],
        commit=source_commit(snakemake.params.source),
    )
    with atomic_write(snakemake.output.provenance, "w") as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"{len(record['figures'])} figures, commit {record['zooheat']['commit']}", file=log)
