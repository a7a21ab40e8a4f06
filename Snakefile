# zooheat: heat maps of volunteers' marks laid over the subject images they describe.
#
#   Panoptes export (config: panoptes.export)  ->  rules/ingest.smk
#     ingest     export -> results/ingest/marks/{layer}/{subject}.csv + subjects.tsv
#   or a subject table (config: subjects)      ->  rules/heatmap.smk
#     histogram  image + marks          -> results/histogram/{layer}/{subject}.npy
#     zoom       histogram + image      -> results/zoom/{layer}/{subject}.npy
#     overlay    image + zoomed array   -> results/figures/{layer}/{subject}.{png,pdf,svg}
#     (and consensus, density, thumbnail: every step in zooheat.pipeline.STEPS)
#   rules/summary.smk: results/summary.csv, results/marks.parquet
#   rules/report.smk: results/gallery/index.html; the figures of `snakemake --report`
#
# Science lives in config/ (validated by config/schema.yaml); machine settings in profiles/.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


validate(config, "config/schema.yaml", set_default=True)


include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/heatmap.smk"
include: "rules/summary.smk"
include: "rules/report.smk"


onstart:
    # A read-only results folder is one line before any job (Snakemake itself would fail
    # with a traceback when it clears a job's old outputs there). Not in a dry run.
    for folder in (RESULTS, "logs"):
        at_start(check_writable, folder)


onsuccess:
    # What the user should look at (results/warnings.tsv), at the end where they look.
    if digest := warnings_digest(rules.summary.output.warnings):
        print(digest, file=sys.stderr)


onerror:
    # Each failed job, its log and its error, at the end where the user looks.
    if digest := warnings_digest(rules.summary.output.warnings):
        print(digest, file=sys.stderr)
    print(failed_run_report(log), file=sys.stderr)


rule all:
    default_target: True
    input:
        all_outputs,
