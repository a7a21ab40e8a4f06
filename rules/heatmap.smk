# Per subject and layer: histogram of mark centres -> zoomed array -> overlay figure.


rule histogram:
    input:
        image=subject_image,
        marks=subject_marks,
    output:
        "results/histogram/{layer}/{subject}.npy",
    log:
        "logs/histogram/{layer}/{subject}.log",
    conda:
        "../envs/heatmap.yaml"
    params:
        bin_size=config["bin_size"],
    script:
        "../scripts/histogram.py"


rule zoom:
    input:
        histogram=rules.histogram.output[0],
        # only its size is read: the zoomed array has exactly the image's shape
        image=subject_image,
    output:
        "results/zoom/{layer}/{subject}.npy",
    log:
        "logs/zoom/{layer}/{subject}.log",
    conda:
        "../envs/heatmap.yaml"
    params:
        bin_size=config["bin_size"],
    script:
        "../scripts/zoom.py"


rule overlay:
    input:
        image=subject_image,
        zoomed=rules.zoom.output[0],
    output:
        "results/figures/{layer}/{subject}.{format}",
    log:
        "logs/overlay/{layer}/{subject}.{format}.log",
    wildcard_constraints:
        format="png|pdf|svg",
    conda:
        "../envs/heatmap.yaml"
    params:
        title=overlay_title,
        style=overlay_style(),
    script:
        "../scripts/overlay.py"


# With `batches: N`, one job per batch and layer does the three steps above for all of the
# batch's subjects in one process, skipping those whose inputs did not change. Its declared
# output is a manifest; the per-subject files are the same as the per-subject rules make.
rule heatmap_batch:
    input:
        unpack(batch_inputs),
    output:
        manifest="results/batches/{layer}/{batch}.tsv",
    log:
        "logs/heatmap_batch/{layer}/{batch}.log",
    wildcard_constraints:
        batch="[0-9]+",
    conda:
        "../envs/heatmap.yaml"
    params:
        members=members_of_batch,
        bin_size=config["bin_size"],
        style=overlay_style(),
        formats=config["overlay"]["formats"],
    script:
        "../scripts/heatmap_batch.py"
