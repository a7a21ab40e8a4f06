# Panoptes classification export -> per-subject mark tables, manifest, rejects, summary.
#
# Mark tables are written only when their bytes change and are not declared outputs of the
# ingest (Snakemake would delete and rewrite them all): a new export reruns only the subjects
# whose marks changed. restore_marks brings back a table deleted by hand; it depends on the
# manifest as ancient(), so it never runs just because the manifest is newer.


checkpoint ingest:
    input:
        unpack(ingest_inputs),
    output:
        manifest=f"{INGEST_DIR}/subjects.tsv",
        rejects=f"{INGEST_DIR}/rejects.csv",
        summary=f"{INGEST_DIR}/ingest-summary.json",
    log:
        "logs/ingest/ingest.log",
    conda:
        "../envs/heatmap.yaml"
    threads: 2
    params:
        # every setting the ingest reads: changing one reruns it
        layers=config["layers"],
        settings=ingest_settings(),
    script:
        "../scripts/ingest.py"


# The export and settings come from the ingest's summary, not the config: a table that exists
# must never be "restored" because the export or the settings changed (that is the ingest's
# job), only when it is missing; both inputs are ancient() for that reason.
rule restore_marks:
    input:
        manifest=ancient(rules.ingest.output.manifest),
        summary=ancient(rules.ingest.output.summary),
    output:
        marks_table("{layer}", "{subject}"),
    log:
        "logs/ingest/restore/{layer}/{subject}.log",
    conda:
        "../envs/heatmap.yaml"
    threads: 1
    script:
        "../scripts/restore_marks.py"
