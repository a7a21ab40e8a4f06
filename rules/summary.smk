# Whole-project tables: the summary (a row per subject and layer: classifications, marks,
# objects, agreement, how contested) and every mark in one tidy table with its object.


rule summary:
    input:
        unpack(summary_inputs),
    output:
        summary=report(
            f"{RESULTS}/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        warnings=f"{RESULTS}/warnings.tsv",
    log:
        "logs/summary/summary.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        job=summary_job,
        settings=SETTINGS,
        layers=LAYERS,
    script:
        "../scripts/summary.py"


rule marks_table:
    input:
        unpack(marks_table_inputs),
    output:
        marks=f"{RESULTS}/marks.parquet",
    log:
        "logs/marks_table/marks_table.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        job=marks_table_job,
    script:
        "../scripts/marks_table.py"
