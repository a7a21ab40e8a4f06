# Panoptes classification export -> per-subject mark tables, manifest, rejects, summary.
#
# Mark tables are written only when their bytes change and are not declared outputs of the
# ingest (Snakemake would delete and rewrite them all): a new export reruns only the subjects
# whose marks changed. restore_marks brings back a table deleted by hand.


checkpoint ingest:
    input:
        unpack(ingest_inputs),
    output:
        manifest=f"{INGEST_DIR}/subjects.tsv",
        rejects=report(
            f"{INGEST_DIR}/rejects.csv",
            caption="../report/rejects.rst",
            category="Ingest",
        ),
        summary=report(
            f"{INGEST_DIR}/ingest-summary.json",
            caption="../report/ingest.rst",
            category="Ingest",
        ),
    log:
        "logs/ingest/ingest.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    threads: 2
    params:
        # every setting the ingest reads: changing one reruns it
        layers=config["layers"],
        settings=ingest_settings(),
    script:
        "../scripts/ingest.py"


# A mark table deleted by hand comes back: restore_marks matches only the tables that were
# missing when this run started (MISSING_TABLES), so the tables that are there, which the
# ingest writes itself, are plain inputs with no job behind them (no job, no metadata to
# miss). The export and settings come from the ingest's summary, not the config: a table is
# never "restored" because the export or the settings changed (that is the ingest's job);
# both inputs are ancient() for that reason.
rule restore_marks:
    input:
        manifest=ancient(rules.ingest.output.manifest),
        summary=ancient(rules.ingest.output.summary),
    output:
        f"{INGEST_DIR}/marks/{{table}}.csv",
    log:
        "logs/ingest/restore/{table}.log",
    wildcard_constraints:
        table=MISSING_TABLES,
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    threads: 1
    script:
        "../scripts/restore_marks.py"
