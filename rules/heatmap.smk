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
