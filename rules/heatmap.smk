# The per-subject chain: one rule per step of zooheat.pipeline.STEPS (histogram -> zoom ->
# overlay), named after the step, made from the step's entry (output, inputs, settings); one
# script runs any step. With `batches: N`, heatmap_batch runs the whole chain for a batch of
# subjects in one job instead, writing the same files.


for step in STEPS:

    rule:
        name:
            step
        input:
            unpack(step_inputs(step)),
        output:
            step_output(step),
        log:
            step_log(step),
        # on a cluster, a subject's steps go in one submission (profiles/slurm); locally,
        # groups are ignored
        group:
            "per_subject"
        conda:
            "../envs/heatmap.yaml"
        envmodules:
            *ENVMODULES,
        params:
            step=step,
            settings=SETTINGS[step],
            classifications=step_classifications(step),
            build=BUILD,
        script:
            "../scripts/step.py"


# With `batches: N`, one job per batch and layer runs every step above for its subjects in one
# process, skipping those whose inputs, settings and code did not change. Its declared output
# is a manifest that stands for its subjects' files (rules that need every output of a step
# depend on it through step_targets), and its subjects' part of marks.parquet.
rule heatmap_batch:
    input:
        unpack(batch_inputs),
    output:
        manifest=batch_manifest("{layer}", "{batch}"),
        marks=batch_marks("{layer}", "{batch}"),
    log:
        "logs/heatmap_batch/{layer}/{batch}.log",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        batch=batch_job,
        inputs=batch_fingerprint,
        build=BUILD,
    script:
        "../scripts/heatmap_batch.py"


# Files of a finished batch deleted by hand: made again by the batch's code, after the batch
# (rule all asks for this only then; the token changes with each repair).
rule repair_batch:
    input:
        unpack(batch_inputs),
        manifest=rules.heatmap_batch.output.manifest,
    output:
        marker=f"{RESULTS}/batches/{{layer}}/{{batch}}.repair-{{token}}",
    log:
        "logs/repair_batch/{layer}/{batch}-{token}.log",
    wildcard_constraints:
        token="[0-9a-f]{16}",
    conda:
        "../envs/heatmap.yaml"
    envmodules:
        *ENVMODULES,
    params:
        batch=batch_job,
    script:
        "../scripts/repair_batch.py"
