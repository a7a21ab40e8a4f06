# Browsing and publishing the results: the gallery (every subject, from disk), the figures a
# Snakemake report shows (snakemake --report report.zip), and paper figures (snakemake paper).


rule gallery:
    input:
        summary=rules.summary.output.summary,
        thumbnails=step_targets("thumbnail"),
        figures=step_targets("overlay"),
    output:
        page=f"{RESULTS}/gallery/index.html",
    log:
        "logs/gallery/gallery.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        figure_format=FIGURE_FORMAT,
    script:
        "../scripts/gallery.py"


# A report holds its figures inside it: a sample of them, the most contested first.
rule report_figures:
    input:
        summary=rules.summary.output.summary,
        figures=step_targets("overlay"),
    output:
        figures=report(
            directory(f"{RESULTS}/report/figures"),
            patterns=[f"{{layer}}-{{subject}}.{FIGURE_FORMAT}"],
            caption="../report/figure.rst",
            category="Figures",
            subcategory="{layer}",
            labels={"subject": "{subject}", "layer": "{layer}"},
        ),
    log:
        "logs/report_figures/report_figures.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        figures=config["report"]["figures"],
        figure_format=FIGURE_FORMAT,
    script:
        "../scripts/report_figures.py"


# Subjects whose image is missing get their consensus and summary rows, no heat map nor
# figure; this job, after the others, lists them (results/missing-images.tsv and its log)
# and fails the run unless missing_images is warn.
rule missing_images:
    input:
        unpack(lambda wildcards: ingest_input()),
        rules.summary.output.summary,
        rules.marks_table.output.marks,
        rules.gallery.output.page,
        rules.report_figures.output.figures,
    output:
        table=f"{RESULTS}/missing-images.tsv",
    log:
        MISSING_IMAGES_LOG,
    localrule: True
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        missing=missing_images,
        policy=config["missing_images"],
    script:
        "../scripts/missing_images.py"


# Paper figures (config `paper`, config/figures.yaml): `snakemake paper` builds each into
# results/paper/ with provenance.json; not part of the default run.
rule paper:
    input:
        unpack(paper_outputs),
        provenance=f"{PAPER_DIR}/provenance.json",


rule paper_figure:
    input:
        unpack(paper_figure_inputs),
    output:
        figure=f"{PAPER_DIR}/{{figure}}.{{format}}",
    log:
        "logs/paper_figure/{figure}.{format}.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        job=paper_figure_job,
    script:
        "../scripts/paper_figure.py"


rule paper_provenance:
    input:
        unpack(paper_provenance_inputs),
    output:
        provenance=f"{PAPER_DIR}/provenance.json",
    log:
        "logs/paper_provenance/paper_provenance.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        job=paper_provenance_job,
        source=WORKFLOW_FOLDER,
    script:
        "../scripts/paper_provenance.py"
