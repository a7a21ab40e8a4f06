# Snakemake adapter: one batch of subjects -> their histograms, zoomed arrays and figures.
import sys
from pathlib import Path

# zooheat from this checkout: the code that makes an output is the code of its workflow,
# also inside a conda env that holds only the dependencies.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")

from zooheat.steps import heatmap_batch, snakemake_job

manifest = Path(snakemake.output.manifest)
with snakemake_job(snakemake.log[0]) as log:
    rows = heatmap_batch(
        snakemake.params.members,
        snakemake.wildcards.layer,
        bin_size=snakemake.params.bin_size,
        style=snakemake.params.style,
        formats=snakemake.params.formats,
        state=manifest.with_suffix(".state.json"),
        log=log,
    )
    lines = ["subject\tmarks\tbinned\toutside\tmax\n"]
    lines += ["\t".join(map(str, row[:5])) + "\n" for row in rows]
    manifest.write_text("".join(lines), encoding="utf-8")
    print(f"{len(rows)} subjects, {sum(r[5] for r in rows)} made again", file=log)
