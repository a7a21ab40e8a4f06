# Browsing the results: the gallery (every subject, from disk) and the figures a Snakemake
# report shows (snakemake --report report.zip).


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
    params:
        figures=config["report"]["figures"],
        figure_format=FIGURE_FORMAT,
    script:
        "../scripts/report_figures.py"
